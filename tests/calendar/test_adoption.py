"""Adoption of a calendar the service found rather than made (SYNC_RULES §5, DECISIONS 10): a
regular run maps the events that match a Termin by start, end and subject and holds the rest
(one notice); `calendar adopt` previews; `--apply` maps the matches too and sends only the rest to
Advoware — no Termin twice, no event twice."""

from __future__ import annotations

import pytest

from services.calendar.ids import linked_frnr
from tests.calendar.conftest import CalEnv
from tests.calendar.test_sync_directions import google_meeting, meeting

pytestmark = pytest.mark.timeout(60)


async def found_calendar(cal: CalEnv) -> tuple[int, str, str]:
    """A Termin, and a calendar named after the employee with a matching and an unmatched event."""
    frnr = await cal.termin(**meeting("2026-03-10", "14:00", "15:00"), text="Gericht")
    calendar = await cal.owner.insert_calendar("SB", "Europe/Berlin")
    matching = await cal.owner.insert_event(calendar["id"], google_meeting("2026-03-10", "Gericht"))
    other = await cal.owner.insert_event(calendar["id"], google_meeting("2026-03-11", "Privat"))
    return frnr, str(matching["id"]), str(other["id"])


async def test_a_regular_run_maps_the_matches_and_holds_the_rest(cal: CalEnv) -> None:
    frnr, matching, other = await found_calendar(cal)
    outcome = await cal.sync()
    assert outcome.done == {"link_google": 1} and outcome.decision.unmatched == (other,)
    events = await cal.events()
    assert linked_frnr(events[matching]) == frnr and linked_frnr(events[other]) is None
    assert list(cal.termine()) == [frnr] and len(await cal.notices("adoption_pending")) == 1


async def test_adopt_preview_writes_nothing_and_apply_sends_only_the_unmatched(cal: CalEnv) -> None:
    frnr, matching, other = await found_calendar(cal)
    cal.reset_counters()
    preview = await cal.sync(dry_run=True, adopting=False)
    assert preview.status == "dry_run" and cal.writes() == 0
    assert sorted(p.kind for p in preview.decision.plans) == ["link_google"]
    assert preview.decision.unmatched == (other,)

    applied = await cal.sync(adopting=True)
    assert applied.done == {"link_google": 1, "create_advoware": 1}, applied.done
    events, termine = await cal.events(), cal.termine()
    assert set(events) == {matching, other} and len(termine) == 2  # nothing twice
    assert linked_frnr(events[matching]) == frnr and linked_frnr(events[other]) in termine
    cal.reset_counters()
    assert (await cal.sync()).status == "noop" and cal.writes() == 0
