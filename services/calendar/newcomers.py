"""Appointments no mapping knows yet (pure): our own lost POSTs, lost databases, adoption, creates.

In this order, each side used once:

1. **Intents**: a Google-born event whose Termin POST lost its answer (or whose process died
   after it) has a pending mapping with the POSTed content's fingerprint; an unmapped Termin
   with that fingerprint is that POST's Termin: linked, never POSTed twice.
2. **Links**: an unmapped event carrying `advowareFrNr` (a lost database, a crash after an
   insert) is mapped to that Termin again — `adv…` ids are Advoware's, others Google's. A Termin
   the GET found gone (or another employee's) has its event deleted here.
3. **Adoption** (a found calendar not yet adopted): unlinked events matched to Termine by start,
   end and subject, mapped and marked; the rest wait for `calendar adopt --apply`.
4. **Creates**: the remaining Termine are inserted as `adv{frNr}`; the remaining events in the
   window become Termine (the intent saved first, the link written into the event after).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from services.calendar import notices
from services.calendar.adoption import match
from services.calendar.ids import event_id, linked_frnr, parse_event_id
from services.calendar.mappings import CalendarMapping, SourceSystem
from services.calendar.plans import Plan, agreed, delete_event, insert_event, link_event, patch_event
from services.calendar.rules import Facts, Read, create_plan, read_event, read_termin, update_advoware
from services.calendar.view import JsonDict, View
from services.sync.actions import Notify
from services.sync.fingerprint import value_hash


@dataclass
class Newcomers:
    plans: list[Plan] = field(default_factory=list)
    settled: set[int] = field(default_factory=set)  # mappings decided here (an intent found)
    unmatched: list[str] = field(default_factory=list)
    notices: list[Notify] = field(default_factory=list)


def decide_newcomers(view: View, facts: Facts) -> Newcomers:
    out = Newcomers()
    free = {int(t["frNr"]): (t, read_termin(t)) for t in view.unmapped_termine()}
    _intents(view, facts, free, out)
    candidates: list[tuple[JsonDict, Read]] = []
    for event in view.unmapped_events():
        if event.get("status") == "cancelled":
            continue
        frnr = linked_frnr(event)
        if frnr is not None and frnr not in view.by_frnr:
            _relink(view, facts, event, frnr, free, out)
        else:  # unlinked, or a copy of a mapped event (its link names another event's Termin)
            candidates.append((event, read_event(event)))
    if facts.matching or not facts.adopted:
        candidates = _adopt(facts, candidates, free, out)
    for frnr, (termin, a) in sorted(free.items()):
        base = CalendarMapping(
            facts.kuerzel,
            facts.calendar_id,
            "advoware",
            advoware_frnr=frnr,
            advoware_row_id=termin.get("rowId"),
        )
        if a.appointment is None:
            notice = notices.invalid(
                facts.kuerzel, f"Termin {frnr}", str(a.reason), str(a.reason), facts.to_notify
            )
            out.plans.append(
                Plan(
                    "fail",
                    f"Termin {frnr}",
                    base,
                    failure=a.reason,
                    notices=(notice,),
                    observed=f"{a.reason}|none",
                )
            )
            continue
        # The intent names the event and the content inserted: after a process died behind the
        # insert, an edit of either side is told from the other (never Advoware's text kept blindly).
        intent = replace(base, google_event_id=event_id(frnr), **agreed(a.appointment))
        call = insert_event(facts.calendar_id, a.appointment, frnr, facts.kuerzel)
        out.plans.append(
            Plan("insert_google", f"Termin {frnr}", intent, (call,), agreed(a.appointment), intent=True)
        )
    for event, g in candidates:
        if g.appointment is not None and not view.window.contains(g.appointment):
            continue  # Google-side events outside the window the service does not map are ignored
        if not facts.adopted:
            out.unmatched.append(str(event["id"]))
            continue
        base = CalendarMapping(facts.kuerzel, facts.calendar_id, "google", google_event_id=str(event["id"]))
        out.plans.append(create_plan(view, facts, base, event, g))
    if out.unmatched:
        stamp = value_hash(*sorted(out.unmatched))
        out.notices.append(notices.adoption(facts.kuerzel, len(out.unmatched), facts.admin, stamp))
    return out


def _intents(view: View, facts: Facts, free: dict[int, tuple[JsonDict, Read]], out: Newcomers) -> None:
    by_fp: dict[str, list[int]] = {}
    for frnr, (_, a) in sorted(free.items()):
        if a.fp is not None:
            by_fp.setdefault(a.fp, []).append(frnr)
    for m in view.obs.mappings:
        if m.advoware_frnr is not None or not m.google_event_id or m.id is None:
            continue
        found = by_fp.get(str(m.advoware_fingerprint)) or []
        if not found:
            continue
        frnr = found.pop(0)
        termin, a = free.pop(frnr)
        assert a.appointment is not None
        base = replace(m, advoware_frnr=frnr, advoware_row_id=termin.get("rowId"))
        call = link_event(facts.calendar_id, m.google_event_id, facts.kuerzel, frnr)
        out.plans.append(
            Plan(
                "link_google",
                f"Termin {frnr}",
                base,
                (call,),
                agreed(a.appointment),
                detail={"found": "the Termin of an earlier POST"},
            )
        )
        out.settled.add(m.id)


def _relink(
    view: View,
    facts: Facts,
    event: JsonDict,
    frnr: int,
    free: dict[int, tuple[JsonDict, Read]],
    out: Newcomers,
) -> None:
    event_id = str(event["id"])
    owner: SourceSystem = "advoware" if parse_event_id(event_id) else "google"
    ref = f"Termin {frnr}"
    base = CalendarMapping(
        facts.kuerzel,
        facts.calendar_id,
        owner,
        advoware_frnr=frnr,
        google_event_id=event_id,
        google_etag=event.get("etag"),
    )
    if frnr not in free:
        checked = frnr in view.obs.confirmed
        found = view.obs.confirmed.get(frnr)
        if checked and (found is None or str(found.get("kuerzel") or "").upper() != facts.kuerzel):
            out.plans.append(
                Plan(
                    "delete_google",
                    ref,
                    base,
                    (delete_event(facts.calendar_id, event_id),),
                    remove=True,
                    detail={"reason": "linked Termin gone"},
                )
            )
        return  # outside the window, or not checked: left alone
    termin, a = free.pop(frnr)
    base = replace(base, advoware_row_id=termin.get("rowId"))
    g = read_event(event)
    if a.appointment is None:
        notice = notices.invalid(facts.kuerzel, ref, str(a.reason), str(a.reason), facts.to_notify)
        out.plans.append(Plan("fail", ref, base, failure=a.reason, notices=(notice,)))
        return
    if g.appointment is not None and g.fp == a.fp:
        out.plans.append(Plan("rebuild", ref, base, on_success=agreed(a.appointment)))
    elif owner == "advoware" or g.appointment is None:
        call = patch_event(facts.calendar_id, event_id, a.appointment, frnr, facts.kuerzel, event.get("etag"))
        out.plans.append(
            Plan(
                "update_google",
                ref,
                base,
                (call,),
                agreed(a.appointment),
                detail={"rebuilt": "Advoware's content kept"},
            )
        )
    else:
        out.plans.append(update_advoware(base, ref, g.appointment, facts, link=False))


def _adopt(
    facts: Facts,
    candidates: list[tuple[JsonDict, Read]],
    free: dict[int, tuple[JsonDict, Read]],
    out: Newcomers,
) -> list[tuple[JsonDict, Read]]:
    """Map and mark the events that match a free Termin; the rest are returned (held)."""
    matched = match(
        [(f, a.appointment) for f, (_, a) in free.items() if a.appointment is not None],
        [(str(e["id"]), g.appointment) for e, g in candidates if g.appointment is not None],
    )
    rest = []
    for event, g in candidates:
        frnr = matched.get(str(event["id"]))
        if frnr is None:
            rest.append((event, g))
            continue
        termin, a = free.pop(frnr)
        assert a.appointment is not None
        base = CalendarMapping(
            facts.kuerzel,
            facts.calendar_id,
            "advoware",
            advoware_frnr=frnr,
            google_event_id=str(event["id"]),
            advoware_row_id=termin.get("rowId"),
        )
        if g.fp == a.fp:
            call = link_event(facts.calendar_id, str(event["id"]), facts.kuerzel, frnr)
        else:  # start, end and subject agree; Advoware's note and place win
            call = patch_event(
                facts.calendar_id, str(event["id"]), a.appointment, frnr, facts.kuerzel, event.get("etag")
            )
        out.plans.append(
            Plan(
                "link_google",
                f"Termin {frnr}",
                base,
                (call,),
                agreed(a.appointment),
                detail={"adopted": "matched by start, end and subject"},
            )
        )
    return rest
