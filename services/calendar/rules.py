"""The calendar decision for a mapped appointment (pure): the state of both sides in, a plan out.

`decide_mapped(view, mapping, facts)` (used by `decision.decide`) decides by the state of both
sides (`view.py`); appointments no mapping knows yet are `newcomers.py`'s. The rules:

- Both sides present: a change on one side goes to the other; both changed to different
  contents → the owner (`source_system`) wins, one conflict notice (sent by the run whose write
  resolved it). Contents are compared by fingerprint of the normal form, so DST and Google's
  time forms never count as changes.
- A Termin missing from the window: left alone if its stored end is behind the window; else the
  GET by frNr decides: gone or another employee's → the event is deleted here; still this
  employee's but outside the window → kept.
- An event deleted in Google: an Advoware-owned appointment is restored (PATCH back, or a new
  `adv{frNr}r{n}`; a series with the occurrences its delete cancelled) and notified, or with
  `CALENDAR_GOOGLE_DELETES=propagate` deleted in Advoware; a Google-owned one is deleted in
  Advoware.
- What Advoware cannot express (a Google rule, exceptions of a series): on an Advoware-owned
  appointment the Google change is reverted (a cancelled occurrence restored), one notice; on a
  Google-owned one nothing is written to Advoware, the mapping fails with the reason, one notice.
- A failed mapping waits for its retry time — after SYNC_MAX_FAILURES for the auto-reset — or
  for a change of either side.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from services.calendar import notices
from services.calendar.event_mapping import from_event
from services.calendar.ids import linked_frnr
from services.calendar.mappings import CalendarMapping
from services.calendar.model import Appointment, NotExpressible
from services.calendar.plans import (
    ADVOWARE,
    GOOGLE,
    Plan,
    agreed,
    cancel_occurrence,
    create_termin,
    delete_event,
    delete_termin,
    insert_event,
    link_event,
    patch_event,
    put_occurrence,
    restore_event,
    span_fields,
    update_termin,
)
from services.calendar.series import CANCEL, exceptions, put_back, untouched
from services.calendar.termin_mapping import from_termin
from services.calendar.view import JsonDict, View, is_open
from services.calendar.window import SyncWindow
from services.sync.actions import Action, Notify
from services.sync.policy import RetryPolicy


@dataclass(frozen=True)
class Facts:
    kuerzel: str
    calendar_id: str
    now: datetime
    window: SyncWindow
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    google_deletes: Literal["restore", "propagate"] = "restore"
    recipient: str | None = None  # the employee's EspoCRM user, else the admin
    admin: str | None = None
    adopted: bool = True  # False: unlinked events of a found calendar wait for adopt --apply
    matching: bool = False  # True: unlinked events are matched to Termine first (adoption)
    allow_mass_changes: bool = False
    max_events: int = 20
    max_percent: float = 25.0

    @property
    def to_notify(self) -> str | None:
        return self.recipient or self.admin


@dataclass(frozen=True)
class Read:
    """One side's content in the normal form, or why it cannot be read."""

    appointment: Appointment | None = None
    reason: str | None = None

    @property
    def fp(self) -> str | None:
        return self.appointment.fingerprint() if self.appointment is not None else None


def read_termin(termin: JsonDict) -> Read:
    try:
        return Read(from_termin(termin))
    except NotExpressible as exc:
        return Read(reason=exc.reason)


def read_event(event: JsonDict) -> Read:
    try:
        return Read(from_event(event))
    except NotExpressible as exc:
        return Read(reason=exc.reason)


def ref_of(mapping: CalendarMapping) -> str:
    if mapping.advoware_frnr is not None:
        return f"Termin {mapping.advoware_frnr}"
    return f"Google-Termin {mapping.google_event_id}"


def observed_key(mapping: CalendarMapping, termin: Read | str, event: Read | str) -> str:
    """Both sides' content as one string (a fingerprint or the side's state); a side the run did
    not see keeps what the last failure stored."""
    previous = (mapping.failed_fingerprint or "|").split("|", 1)
    a = termin if isinstance(termin, str) else (termin.fp or termin.reason or "?")
    g = event if isinstance(event, str) else (event.fp or event.reason or "?")
    return f"{a}|{previous[1] if g == 'unchanged' else g}"


def unapplied_google(mapping: CalendarMapping) -> str | None:
    """The Google content a failed mapping last saw and could not apply (its event is not in this
    run's incremental listing, as the failed run consumed the change), else None."""
    if mapping.status != "failed" or not mapping.failed_fingerprint:
        return None
    seen = mapping.failed_fingerprint.split("|", 1)[-1]
    return None if seen in ("deleted", "none", "unchanged", "?", "") else seen


def decide_mapped(view: View, mapping: CalendarMapping, facts: Facts) -> Plan | None:
    t_state, termin = view.termin_state(mapping)
    e_state, event = view.event_state(mapping)
    a = read_termin(termin) if t_state == "present" and termin is not None else None
    g = read_event(event) if e_state == "seen" and event is not None else None
    mapping, landed = with_landed_write(mapping, a, g)
    if mapping.status == "synced" and e_state == "unchanged" and a is not None and not landed:
        # An incremental listing may bring only instances of a series (an occurrence moved or
        # cancelled) and not its master: those are a Google change all the same.
        if a.fp == mapping.advoware_fingerprint and not view.exceptions.get(str(mapping.google_event_id)):
            return None  # the no-op path: nothing changed on either side
    key = observed_key(mapping, a or t_state, g or e_state)
    if mapping.status == "failed" and not is_open(mapping, facts.now) and key == mapping.failed_fingerprint:
        return None  # waiting: not due yet (out of retries: the auto-reset), and neither side changed
    pair = Pair(view, mapping, facts, key, event, landed)
    if t_state in ("left_behind", "unconfirmed", "outside"):
        return None
    if t_state in ("gone", "moved"):
        if e_state not in ("seen", "unchanged"):
            return pair.plan("forget", remove=True)
        actions: list[Action] = [delete_event(facts.calendar_id, str(mapping.google_event_id))]
        google = (g.fp or g.reason) if g is not None else unapplied_google(mapping)
        if google is not None and google != mapping.google_fingerprint:  # edited in Google: lost
            contents = ("deleted", str(google))
            actions.append(
                notices.conflict(facts.kuerzel, pair.ref, "advoware", contents, facts.to_notify, GOOGLE)
            )
        return pair.plan(
            "delete_google", actions, remove=True, detail={"reason": f"Termin {t_state} in Advoware"}
        )
    if t_state == "none":  # a Google-born event whose Termin POST did not get through
        if e_state == "deleted":
            return pair.plan("forget", remove=True)
        if g is None or event is None:
            return None  # not due: its event was not fetched
        return create_plan(view, facts, mapping, event, g)
    assert a is not None
    if a.appointment is None:
        return pair.fail(
            str(a.reason), notices.invalid(facts.kuerzel, pair.ref, str(a.reason), key, facts.to_notify)
        )
    return pair.present(a.appointment, e_state, g)


class Pair:
    """The plan builders of one mapped appointment."""

    def __init__(
        self,
        view: View,
        mapping: CalendarMapping,
        facts: Facts,
        key: str,
        event: JsonDict | None,
        landed: bool = False,
    ) -> None:
        self.view, self.m, self.facts, self.key, self.event = view, mapping, facts, key, event
        self.landed = landed  # `mapping` records a write that landed unrecorded: store it
        self.ref = ref_of(mapping)

    def plan(self, kind: Any, actions: list[Action] | None = None, **kw: Any) -> Plan:
        base = kw.pop("base", self.m)
        return Plan(kind, self.ref, base, tuple(actions or ()), observed=self.key, **kw)

    def writing(self, side: str, content: Appointment) -> dict[str, Any]:
        """A plan's fields for writing `content` to `side`: the intent is saved first."""
        return {"base": replace(self.m, write_intent=f"{side}:{content.fingerprint()}"), "intent": True}

    def fail(self, reason: str, notice: Notify) -> Plan:
        return self.plan("fail", failure=reason, notices=(notice,))

    @property
    def frnr(self) -> int:
        assert self.m.advoware_frnr is not None
        return self.m.advoware_frnr

    def present(self, a: Appointment, e_state: str, g: Read | None) -> Plan | None:
        facts, m = self.facts, self.m
        if e_state == "none":  # the insert never got through
            return self.plan(
                "insert_google",
                [insert_event(facts.calendar_id, a, self.frnr, facts.kuerzel)],
                on_success=agreed(a),
            )
        if e_state == "deleted":
            return self.deleted_in_google(a)
        a_changed = a.fingerprint() != m.advoware_fingerprint
        g_changed = g is not None and (g.fp is None or g.fp != m.google_fingerprint)
        if a.series is not None:
            # Instances follow Google's master: they are judged against it as it is now (a
            # series moved as a whole on either side is no exception of itself). Occurrences put
            # back earlier and untouched since are the service's copies, no employee's change.
            series = g.appointment if g is not None and g.appointment is not None else a
            found = exceptions(series, self.instances())
            if any(not untouched(i) for i, _ in found):
                return self.series_exceptions(a, found, a_changed, g if g_changed else None)
        plan = self.settle(a, a_changed, g, g_changed)
        if a.series is None:
            return plan
        google = g.appointment if g is not None else None
        return self.follow(plan, google if plan is not None and plan.kind == "update_advoware" else a)

    def settle(self, a: Appointment, a_changed: bool, g: Read | None, g_changed: bool) -> Plan | None:
        facts, m = self.facts, self.m
        if g is not None and g.appointment is None and g_changed:
            return self.not_expressible(a, str(g.reason))
        link_missing = self.event is not None and linked_frnr(self.event) != m.advoware_frnr
        if not a_changed and not g_changed:
            if self.event is None and m.status != "synced":
                return None  # not due: its event was not fetched, so nothing is known to be done
            if link_missing:
                return self.plan(
                    "link_google",
                    [link_event(facts.calendar_id, str(m.google_event_id), facts.kuerzel, self.frnr)],
                    on_success=agreed(a),
                )
            return (
                None if m.status == "synced" and not self.landed else self.plan("agree", on_success=agreed(a))
            )
        assert g is None or g.appointment is not None
        google = g.appointment if g is not None else None
        if a_changed and not g_changed:
            return self.to_google(a)
        assert google is not None
        if not a_changed:
            return self.to_advoware(google, link_missing)
        if a.fingerprint() == google.fingerprint():
            return self.plan("agree", on_success=agreed(a))
        contents = (a.fingerprint(), google.fingerprint())
        if m.source_system == "advoware":
            notice = notices.conflict(facts.kuerzel, self.ref, "advoware", contents, facts.to_notify, GOOGLE)
            return self.to_google(a, notice)
        notice = notices.conflict(facts.kuerzel, self.ref, "google", contents, facts.to_notify, ADVOWARE)
        return self.to_advoware(google, link_missing, notice)

    def instances(self) -> list[JsonDict]:
        return list(self.view.exceptions.get(str(self.m.google_event_id), {}).values())

    def follow(self, plan: Plan | None, target: Appointment | None) -> Plan | None:
        """A series' plan with the occurrences put back earlier brought to `target`, what the
        series becomes (stored instances do not follow their master); no notice: nobody changed
        them. Copies found stale beside an unchanged series are brought back alone."""
        if target is None or (plan is not None and (plan.remove or plan.failure is not None)):
            return plan
        copies = [i for i in self.instances() if untouched(i)]
        puts, restores = self.put_backs(target, exceptions(target, copies))
        if not puts:
            return plan
        if plan is None:
            return self.plan("update_google", puts, on_success=agreed(target), restores=restores)
        calls = [x for x in plan.actions if not isinstance(x, Notify)]
        told = [x for x in plan.actions if isinstance(x, Notify)]
        return replace(plan, actions=(*calls, *puts, *told), restores=plan.restores + restores)

    def to_google(self, a: Appointment, notice: Notify | None = None) -> Plan:
        # With the etag as last seen: a user's edit after that fails the write (412) instead of
        # being overwritten unseen; the next run sees it and decides again.
        etag = (self.event or {}).get("etag") or self.m.google_etag
        call = patch_event(
            self.facts.calendar_id, str(self.m.google_event_id), a, self.frnr, self.facts.kuerzel, etag
        )
        actions: list[Action] = [call, *([notice] if notice else [])]
        return self.plan("update_google", actions, on_success=agreed(a), **self.writing(GOOGLE, a))

    def to_advoware(self, g: Appointment, link_missing: bool, notice: Notify | None = None) -> Plan:
        base = replace(self.m, write_intent=f"{ADVOWARE}:{g.fingerprint()}")
        return update_advoware(
            base, self.ref, g, self.facts, link=link_missing, notice=notice, observed=self.key, intent=True
        )

    def deleted_in_google(self, a: Appointment) -> Plan:
        facts, m = self.facts, self.m
        if m.source_system == "advoware" and facts.google_deletes == "restore":
            stamp = str(m.google_etag or m.google_updated or "")
            notice = notices.restored(facts.kuerzel, self.ref, stamp, facts.to_notify, GOOGLE)
            call = restore_event(facts.calendar_id, str(m.google_event_id), a, self.frnr, facts.kuerzel)
            # Deleting a series cancels its stored instances with it (occurrences put back
            # earlier among them); a listing since the delete brings them, events.instances of
            # a deleted series does not (410): the restored series is looked at again by the next
            # run. A series gone for good (not listed, or 404) is inserted under a fresh id with
            # fresh occurrences: its old instances stay cancelled.
            found = exceptions(a, self.instances()) if self.event is not None else []
            puts, restores = self.put_backs(a, found)
            return self.plan(
                "restore_google", [call, *puts, notice], on_success=agreed(a), restores=restores,
                then="pending" if a.series is not None else "synced", **self.writing(GOOGLE, a),
            )  # fmt: skip
        actions: list[Action] = [delete_termin(self.frnr)]
        if a.fingerprint() != m.advoware_fingerprint:  # edited in Advoware meanwhile: that edit is lost
            contents = (a.fingerprint(), "deleted")
            actions.append(
                notices.conflict(facts.kuerzel, self.ref, "google", contents, facts.to_notify, ADVOWARE)
            )
        return self.plan("delete_advoware", actions, remove=True, detail={"reason": "deleted in Google"})

    def not_expressible(self, a: Appointment, reason: str) -> Plan:
        facts = self.facts
        if self.m.source_system == "advoware":
            notice = notices.reverted(facts.kuerzel, self.ref, reason, self.key, facts.to_notify, GOOGLE)
            return self.to_google(a, notice)
        return self.fail(reason, notices.manual(facts.kuerzel, self.ref, reason, self.key, facts.to_notify))

    def series_exceptions(
        self, a: Appointment, found: list[tuple[JsonDict, str]], a_changed: bool, google: Read | None
    ) -> Plan:
        """Exceptions of a series: Google's series waits (failed, noticed); on Advoware's they are
        put back (noticed). A change of the master itself that Advoware can hold, and the only
        change since the last sync, reaches Advoware; otherwise the master shows Advoware's."""
        facts, m = self.facts, self.m
        reason = ", ".join(sorted({r for _, r in found}))
        if m.source_system != "advoware":
            return self.fail(
                reason, notices.manual(facts.kuerzel, self.ref, reason, self.key, facts.to_notify)
            )
        target = a
        actions: list[Action] = []
        intent: dict[str, Any] = {}
        if google is not None and google.appointment is not None and not a_changed:
            target = google.appointment
            actions.append(update_termin(self.frnr, target, facts.kuerzel))
            intent = self.writing(ADVOWARE, target)
        elif a_changed or google is not None:
            intent = self.writing(GOOGLE, a)
            actions.append(
                patch_event(facts.calendar_id, str(m.google_event_id), a, self.frnr, facts.kuerzel, None)
            )
            if a_changed and google is not None and google.fp not in (None, a.fingerprint()):
                contents = (a.fingerprint(), str(google.fp))  # both sides edited the series
                actions.append(
                    notices.conflict(facts.kuerzel, self.ref, "advoware", contents, facts.to_notify, GOOGLE)
                )
        ids = {str(i["id"]) for i, _ in found}
        copies = [i for i in self.instances() if untouched(i) and str(i["id"]) not in ids]
        puts, restores = self.put_backs(target, [*found, *exceptions(target, copies)])
        actions += puts
        items = tuple(i for c in actions for i in getattr(c, "advances", {}))
        notice = notices.reverted(facts.kuerzel, self.ref, reason, self.key, facts.to_notify, GOOGLE)
        notice = replace(notice, requires=items)
        return self.plan(
            "revert_google", [*actions, notice], on_success=agreed(target), restores=restores, **intent
        )

    def put_backs(self, series: Appointment, found: list[tuple[JsonDict, str]]) -> tuple[list[Action], int]:
        """The PATCHes that put the `found` exceptions back as `series` has them, and how many of
        them bring a cancelled occurrence back (creates, for the brake)."""
        puts: list[Action] = []
        restores = 0
        for instance, why in found:
            body = put_back(series, instance, self.frnr, self.facts.kuerzel)
            if body == CANCEL:
                puts.append(cancel_occurrence(self.facts.calendar_id, str(instance["id"])))
            elif isinstance(body, dict):
                puts.append(put_occurrence(self.facts.calendar_id, str(instance["id"]), body))
                restores += why == "cancelled occurrence"
        return puts, restores


def with_landed_write(
    mapping: CalendarMapping, a: Read | None, g: Read | None
) -> tuple[CalendarMapping, bool]:
    """The mapping as if the write it names had been recorded, when that side shows it (the
    write landed; its answer, or the process, was lost): both sides held that content then. So a
    side showing the service's own write is no edit, and the other side's later edit is one."""
    side, _, content = (mapping.write_intent or "").partition(":")
    shown = a if side == ADVOWARE else g if side == GOOGLE else None
    if shown is None or not content or shown.fp != content:
        return mapping, False
    landed = replace(mapping, advoware_fingerprint=content, google_fingerprint=content, write_intent=None)
    return landed, True


def update_advoware(
    base: CalendarMapping,
    ref: str,
    g: Appointment,
    facts: Facts,
    *,
    link: bool,
    notice: Notify | None = None,
    observed: str = "",
    intent: bool = False,
) -> Plan:
    """PUT the Google content into the Termin (and write the link into the event if missing);
    `intent`: `base` (naming the write) is saved before it."""
    assert base.advoware_frnr is not None and base.google_event_id
    actions: list[Action] = [update_termin(base.advoware_frnr, g, facts.kuerzel)]
    if link:
        actions.append(link_event(facts.calendar_id, base.google_event_id, facts.kuerzel, base.advoware_frnr))
    actions += [notice] if notice else []
    return Plan("update_advoware", ref, base, tuple(actions), agreed(g), observed=observed, intent=intent)


def create_plan(view: View, facts: Facts, base: CalendarMapping, event: JsonDict, g: Read) -> Plan:
    """A Google-born event becomes a Termin: the intent (the mapping with the content's
    fingerprint) is saved first, then the POST, then the link PATCH with the new frNr."""
    event_id = str(event["id"])
    ref = f"Google-Termin {event_id}"
    key = f"none|{g.fp or g.reason}"
    reason = g.reason
    if g.appointment is not None and g.appointment.series is not None:
        found = exceptions(g.appointment, view.exceptions.get(event_id, {}).values())
        reason = ", ".join(sorted({r for _, r in found})) or None
    if g.appointment is None or reason:
        notice = notices.manual(facts.kuerzel, ref, str(reason), key, facts.to_notify)
        return Plan("fail", ref, base, failure=reason, notices=(notice,), observed=key)
    fp = g.appointment.fingerprint()
    intent = replace(
        base,
        status="pending",
        advoware_fingerprint=fp,
        google_fingerprint=fp,
        google_etag=event.get("etag"),
        **span_fields(g.appointment),
    )
    actions = (
        create_termin(g.appointment, facts.kuerzel),
        link_event(facts.calendar_id, event_id, facts.kuerzel),
    )
    return Plan("create_advoware", ref, intent, actions, agreed(g.appointment), intent=True, observed=key)
