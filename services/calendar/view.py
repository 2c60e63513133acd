"""What one employee's run saw, indexed for the decision (pure).

`Observed` is what the service read: the stored mappings, Advoware's listing of the window, the
Google listing (full, or incremental from the sync token), and the few extra reads the listings
call for — the GET by frNr of a mapped Termin missing from the window (`confirmed`), the GET of
the event of an open mapping that the incremental listing did not bring (`fetched`), the
instances of an open series (`instances`). `to_confirm`/`to_fetch`/`series_to_list` say which.

`View` answers, per mapping, in what state each side is:

| Termin | meaning |
| --- | --- |
| `present` | in Advoware's listing |
| `left_behind` | not listed, and its stored end lies before the window: left alone |
| `gone` | the GET by frNr found nothing: deleted in Advoware |
| `moved` | the GET found it with another Kürzel: now another employee's |
| `outside` | the GET found it, this employee's, outside the window: kept |
| `unconfirmed` | not listed, not checked (the brake stopped before the GETs) |
| `none` | the mapping has no frNr yet (a Google-born event whose Termin POST is pending) |

| event | meaning |
| --- | --- |
| `seen` | in the listing, or fetched |
| `unchanged` | an incremental listing did not bring it: as last synced |
| `deleted` | `status: cancelled`, a 404 on GET, or missing from a full listing |
| `none` | no event yet: none named, or an insert's intent names one never seen (insert pending) |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from services.calendar.event_mapping import from_event, is_instance
from services.calendar.ids import linked_frnr
from services.calendar.mappings import CalendarMapping
from services.calendar.model import NotExpressible
from services.calendar.termin_mapping import from_termin
from services.calendar.window import SyncWindow
from services.sync.policy import RetryPolicy

JsonDict = dict[str, Any]
TerminState = Literal["present", "left_behind", "gone", "moved", "outside", "unconfirmed", "none"]
EventState = Literal["seen", "unchanged", "deleted", "none"]


@dataclass(frozen=True)
class Observed:
    mappings: Sequence[CalendarMapping]
    termine: Sequence[JsonDict]
    events: Sequence[JsonDict]
    full: bool  # the Google listing was a full one (absent = deleted)
    confirmed: Mapping[int, JsonDict | None] = field(default_factory=dict)
    unconfirmed: frozenset[int] = frozenset()
    fetched: Mapping[str, JsonDict | None] = field(default_factory=dict)
    instances: Mapping[str, Sequence[JsonDict]] = field(default_factory=dict)


def with_landed_links(obs: Observed) -> Observed:
    """An intent of a Google-born event (no frNr yet) whose event already carries a link: the
    Termin POST and the link PATCH landed, the process died before the mapping was stored. The
    mapping takes the linked frNr, so that Termin's edits and its delete are the mapped
    appointment's — never a second POST."""
    mapped = {m.advoware_frnr for m in obs.mappings if m.advoware_frnr is not None}
    events = {e.get("id"): e for e in [*obs.events, *(e for e in obs.fetched.values() if e is not None)]}
    mappings = []
    for mapping in obs.mappings:
        event = events.get(mapping.google_event_id) if mapping.advoware_frnr is None else None
        frnr = linked_frnr(event) if event is not None else None
        if frnr is not None and frnr not in mapped:
            mapping = replace(mapping, advoware_frnr=frnr)
            mapped.add(frnr)
        mappings.append(mapping)
    return replace(obs, mappings=tuple(mappings))


def is_open(mapping: CalendarMapping, now: datetime) -> bool:
    """Pending, or failed and due for its retry (a failed mapping that used up its retries waits
    for a change on either side, `rules.py`)."""
    if mapping.status == "pending":
        return True
    return mapping.status == "failed" and mapping.next_retry_at is not None and mapping.next_retry_at <= now


def missing(
    mappings: Sequence[CalendarMapping], termine: Sequence[JsonDict], window: SyncWindow
) -> list[int]:
    """frNrs of mapped Termine not in the window's listing whose stored end is not behind it."""
    listed = {_frnr(t) for t in termine}
    return sorted(
        m.advoware_frnr
        for m in mappings
        if m.advoware_frnr is not None
        and m.advoware_frnr not in listed
        and not window.left_behind(m.mapped_end)
    )


def to_confirm(
    mappings: Sequence[CalendarMapping], termine: Sequence[JsonDict], events: Sequence[JsonDict],
    window: SyncWindow,
) -> list[int]:  # fmt: skip
    """The Termine to GET before deciding: mapped ones missing from the window, and those named by
    a listed event's link that neither a mapping nor the listing knows (after a lost database)."""
    listed = {_frnr(t) for t in termine}
    mapped = {m.advoware_frnr for m in mappings}
    linked = {f for e in events if (f := linked_frnr(e)) is not None and f not in mapped and f not in listed}
    return sorted(set(missing(mappings, termine, window)) | linked)


def to_fetch(
    mappings: Sequence[CalendarMapping], events: Sequence[JsonDict], full: bool, now: datetime
) -> list[str]:
    """Events of open mappings an incremental listing did not bring (a full one brings them all)."""
    if full:
        return []
    listed = {e.get("id") for e in events}
    return sorted(
        m.google_event_id
        for m in mappings
        if m.google_event_id and m.google_event_id not in listed and is_open(m, now)
    )


def series_to_list(
    mappings: Sequence[CalendarMapping], termine: Sequence[JsonDict], events: Sequence[JsonDict],
    now: datetime,
) -> list[str]:  # fmt: skip
    """Mappings of a series that are open or changed on either side (their Termin, or their
    master in the listing): their exceptions are read with events.instances — a change of the
    series must reach the occurrences put back earlier, which do not follow their master."""
    series = {_frnr(t): t for t in termine if t.get("turnus") in (1, True)}
    masters = {str(e.get("id")): e for e in events if not is_instance(e)}

    def changed(m: CalendarMapping) -> bool:
        master = masters.get(str(m.google_event_id))
        return _content(from_termin, series[int(m.advoware_frnr or 0)]) != m.advoware_fingerprint or (
            master is not None and _content(from_event, master) != m.google_fingerprint
        )

    return sorted(
        m.google_event_id
        for m in mappings
        if m.google_event_id and m.advoware_frnr in series and (is_open(m, now) or changed(m))
    )


def _content(read: Any, body: JsonDict) -> str | None:
    try:
        return str(read(body).fingerprint())
    except NotExpressible:
        return None


def _frnr(termin: Mapping[str, Any]) -> int:
    return int(termin["frNr"])


@dataclass
class View:
    kuerzel: str
    obs: Observed
    window: SyncWindow
    termine: dict[int, JsonDict] = field(default_factory=dict)
    events: dict[str, JsonDict] = field(default_factory=dict)  # singles and masters (and fetched)
    exceptions: dict[str, dict[str, JsonDict]] = field(default_factory=dict)  # master → instance id → event
    by_frnr: dict[int, CalendarMapping] = field(default_factory=dict)
    by_event: dict[str, CalendarMapping] = field(default_factory=dict)

    @classmethod
    def build(cls, kuerzel: str, obs: Observed, window: SyncWindow) -> View:
        view = cls(kuerzel, obs, window)
        for termin in obs.termine:
            if termin.get("frNr") is not None:
                view.termine.setdefault(_frnr(termin), termin)  # the same Termin twice: once
        listed = [*obs.events, *(e for e in obs.fetched.values() if e is not None)]
        for series in obs.instances.values():
            listed += series
        for event in listed:
            if not event.get("id"):
                continue
            if is_instance(event):
                view.exceptions.setdefault(str(event["recurringEventId"]), {})[str(event["id"])] = event
            else:
                view.events[str(event["id"])] = event
        for mapping in obs.mappings:
            if mapping.advoware_frnr is not None:
                view.by_frnr[mapping.advoware_frnr] = mapping
            if mapping.google_event_id:
                view.by_event[mapping.google_event_id] = mapping
        return view

    def termin_state(self, mapping: CalendarMapping) -> tuple[TerminState, JsonDict | None]:
        frnr = mapping.advoware_frnr
        if frnr is None:
            return "none", None
        if frnr in self.termine:
            return "present", self.termine[frnr]
        if self.window.left_behind(mapping.mapped_end):
            return "left_behind", None
        if frnr not in self.obs.confirmed:
            return "unconfirmed", None
        found = self.obs.confirmed[frnr]
        if found is None:
            return "gone", None
        if str(found.get("kuerzel") or "").upper() != self.kuerzel:
            return "moved", found
        return "outside", found

    def event_state(self, mapping: CalendarMapping) -> tuple[EventState, JsonDict | None]:
        event_id = mapping.google_event_id
        if not event_id:
            return "none", None
        # An insert's intent whose event was never seen: a missing event was never made.
        never_seen = (
            mapping.status != "synced" and mapping.google_etag is None and mapping.google_updated is None
        )
        absent: EventState = "none" if never_seen else "deleted"
        if event_id in self.obs.fetched and self.obs.fetched[event_id] is None:
            return absent, None
        event = self.events.get(event_id)
        if event is not None:
            return ("deleted", event) if event.get("status") == "cancelled" else ("seen", event)
        return (absent, None) if self.obs.full else ("unchanged", None)

    def unmapped_termine(self) -> list[JsonDict]:
        return [t for f, t in sorted(self.termine.items()) if f not in self.by_frnr]

    def unmapped_events(self) -> list[JsonDict]:
        return [e for i, e in sorted(self.events.items()) if i not in self.by_event]


def retry_at(policy: RetryPolicy, failures: int, now: datetime) -> datetime:
    """When a mapping that failed `failures` times may be retried: by the schedule, and once it
    used up its tries at the auto-reset (SYNC_AUTO_RESET_HOURS, DECISIONS 30) — earlier when
    either side changes."""
    return now + (policy.auto_reset if failures >= policy.max_failures else policy.delay(failures))
