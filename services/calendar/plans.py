"""A plan per appointment: the actions for the core's runner and what its mapping becomes (pure).

The calendar decision (`rules.py`) returns one `Plan` per appointment that needs anything; the
service runs each plan on its own (a failure of one appointment never stops the others) and
computes the mapping from what was applied (`outcome.py`). Writes are `Call`s (Google and
Advoware are no EspoCRM records, so no `Patch`); each names the state item it makes true:

- `google`: the event holds the planned content (its id, etag and `updated` from the answer),
- `advoware`: the Termin holds it (its frNr and rowId from the answer),
- `occurrence:<instance id>`: an exception of a series was put back (or cancelled).

`on_success` are the mapping fields once every action applied (the contents both sides agree
on, as fingerprints, and the span); a plan that stops half-way keeps only the answers of what
did apply. Notices `require` the item of the write that earned them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.calendar.event_mapping import to_event, to_patch
from services.calendar.ids import private_properties
from services.calendar.mappings import CalendarMapping
from services.calendar.model import Appointment
from services.calendar.termin_mapping import to_termin
from services.sync.actions import Action, Call, Notify, Settlement

GOOGLE, ADVOWARE = "google", "advoware"
Kind = Literal[
    "insert_google",
    "update_google",
    "restore_google",
    "revert_google",
    "delete_google",
    "link_google",
    "create_advoware",
    "update_advoware",
    "delete_advoware",
    "rebuild",
    "agree",
    "forget",
    "fail",
]
CREATING = frozenset({"insert_google", "restore_google", "create_advoware"})
DELETING = frozenset({"delete_google", "delete_advoware"})


@dataclass(frozen=True)
class Plan:
    kind: Kind
    ref: str  # "Termin 123" / "Google-Termin abc": for logs, notices and the dry-run listing
    base: CalendarMapping  # the stored mapping, or the new one (id None) it starts from
    actions: tuple[Action, ...] = ()
    on_success: Mapping[str, Any] = field(default_factory=dict)
    remove: bool = False  # once applied, the mapping is gone
    intent: bool = False  # `base` is saved before the first write (a Termin POST: recover by lookup)
    failure: str | None = None  # nothing can be written: book this reason on the mapping
    notices: tuple[Notify, ...] = ()  # employee-level notices of a plan without writes
    observed: str = ""  # both sides' current content: a failure stores it, a change makes it due
    restores: int = 0  # cancelled occurrences put back (they count as creates for the brake)
    # The mapping's status once every action applied; `pending`: the next run looks again (a
    # restored series' occurrences can be read only once it is back).
    then: Literal["synced", "pending"] = "synced"
    detail: Mapping[str, Any] = field(default_factory=dict)  # for the audit (values masked)

    @property
    def calls(self) -> list[Call]:
        return [a for a in self.actions if isinstance(a, Call)]

    @property
    def creates(self) -> int:
        return (1 if self.kind in CREATING else 0) + self.restores

    @property
    def deletes(self) -> int:
        return 1 if self.kind in DELETING else 0

    def summary(self) -> str:
        ops = ", ".join(f"{c.system}.{c.op}" for c in self.calls) or "no call"
        return f"{self.ref}: {self.kind} ({ops})" + (f" — {self.failure}" if self.failure else "")


# -- Google writes ----------------------------------------------------------------------------------


def _google_fields(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, Mapping):
        return {}
    return {
        "google_event_id": answer.get("id"),
        "google_etag": answer.get("etag"),
        "google_updated": parse_rfc3339(answer.get("updated")),
    }


def _settles(item: str, planned: Mapping[str, Any], from_answer: Any) -> Any:
    def settle(answer: Any) -> Settlement:
        return Settlement(advances={item: {**planned, **from_answer(answer)}})

    return settle


def insert_event(calendar_id: str, appointment: Appointment, frnr: int, kuerzel: str) -> Call:
    """Insert under the client-chosen id `adv{frNr}`: a lost answer or a second run gets 409 and
    adopts the stored event (the executor), never a duplicate."""
    body = to_event(appointment, frnr=frnr, kuerzel=kuerzel)
    return Call(
        GOOGLE,
        "insert_event",
        "insert",
        calendar_id,
        body,
        {GOOGLE: {}},
        _settles(GOOGLE, {}, _google_fields),
    )


def patch_event(
    calendar_id: str, event_id: str, appointment: Appointment, frnr: int, kuerzel: str, etag: str | None
) -> Call:
    """Make the event show `appointment`; with the etag as seen, a user's edit in between makes
    it fail (412) instead of being overwritten: the next run decides again."""
    body = to_patch(appointment, frnr=frnr, kuerzel=kuerzel)
    return Call(
        GOOGLE,
        "patch_event",
        "patch",
        (calendar_id, event_id, etag),
        body,
        {GOOGLE: {}},
        _settles(GOOGLE, {}, _google_fields),
    )


def restore_event(calendar_id: str, event_id: str, appointment: Appointment, frnr: int, kuerzel: str) -> Call:
    """Undo a delete in Google: PATCH back to `confirmed` with the Advoware content, or, when the
    event is gone for good, insert it under the next restore id `adv{frNr}r{n}`."""
    body = {
        "patch": to_patch(appointment, frnr=frnr, kuerzel=kuerzel),
        "event": to_event(appointment, frnr=frnr, kuerzel=kuerzel),
    }
    return Call(
        GOOGLE,
        "restore_event",
        "restore",
        (calendar_id, event_id, frnr),
        body,
        {GOOGLE: {}},
        _settles(GOOGLE, {}, _google_fields),
    )


def link_event(calendar_id: str, event_id: str, kuerzel: str, frnr: int | None = None) -> Call:
    """Write the Advoware link into the event (`extendedProperties.private`); without `frnr` the
    frNr comes from the Termin POST earlier in the plan."""

    def bound(answers: Mapping[str, Any]) -> Call:
        number = frnr if frnr is not None else int(answers[CREATE]["frNr"])
        body = {"extendedProperties": {"private": private_properties(number, kuerzel)}}
        return Call(
            GOOGLE,
            "patch_event",
            "link",
            (calendar_id, event_id, None),
            body,
            {GOOGLE: {}},
            _settles(GOOGLE, {}, _google_fields),
        )

    if frnr is not None:
        return bound({})
    return Call(GOOGLE, "patch_event", "link", (calendar_id, event_id, None), None, {GOOGLE: {}}, bind=bound)


def delete_event(calendar_id: str, event_id: str) -> Call:
    return Call(GOOGLE, "delete_event", "delete", (calendar_id, event_id), None, {GOOGLE: {}})


def put_occurrence(calendar_id: str, instance_id: str, body: Mapping[str, Any]) -> Call:
    """Put one occurrence of a series back as the series has it (a moved or cancelled instance)."""
    item = f"occurrence:{instance_id}"
    return Call(GOOGLE, "patch_event", item, (calendar_id, instance_id, None), body, {item: True})


def cancel_occurrence(calendar_id: str, instance_id: str) -> Call:
    """Cancel an instance whose original start is no occurrence of its series any more (the
    series was moved): left showing, it would be an occurrence the series does not have."""
    item = f"occurrence:{instance_id}"
    return Call(GOOGLE, "delete_event", item, (calendar_id, instance_id), None, {item: True})


# -- Advoware writes --------------------------------------------------------------------------------

CREATE = "create"


def _advoware_fields(answer: Any) -> dict[str, Any]:
    record = answer[0] if isinstance(answer, list) and answer else answer
    if not isinstance(record, Mapping):
        return {}
    fields: dict[str, Any] = {"advoware_row_id": record.get("rowId")}
    if record.get("frNr") is not None:
        fields["advoware_frnr"] = int(record["frNr"])
    return fields


def create_termin(appointment: Appointment, kuerzel: str) -> Call:
    """Not idempotent: the service saves the plan's intent (the mapping with the POSTed content's
    fingerprint) first, so after a lost answer the next run finds the Termin instead of POSTing
    again."""
    body = to_termin(appointment, kuerzel)
    return Call(
        ADVOWARE,
        "create_termin",
        CREATE,
        None,
        body,
        {ADVOWARE: {}},
        _settles(ADVOWARE, {}, _advoware_fields),
    )


def update_termin(frnr: int, appointment: Appointment, kuerzel: str) -> Call:
    body = to_termin(appointment, kuerzel)
    return Call(
        ADVOWARE,
        "update_termin",
        "update",
        frnr,
        body,
        {ADVOWARE: {}},
        _settles(ADVOWARE, {}, _advoware_fields),
    )


def delete_termin(frnr: int) -> Call:
    return Call(ADVOWARE, "delete_termin", "delete", frnr, None, {ADVOWARE: {}})


# -- helpers ----------------------------------------------------------------------------------------


def parse_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def span_fields(appointment: Appointment) -> dict[str, Any]:
    start, end = appointment.span()
    return {"mapped_start": start, "mapped_end": end}


def agreed(appointment: Appointment) -> dict[str, Any]:
    """Mapping fields of a pair whose sides both hold `appointment`."""
    fp = appointment.fingerprint()
    return {
        "advoware_fingerprint": fp,
        "google_fingerprint": fp,
        "write_intent": None,
        **span_fields(appointment),
    }
