"""Issue 13 acceptance, recovery: a lost mapping table rebuilt from `extendedProperties` with event
and appointment counts unchanged; a lost insert answer adopted; `410` → exactly one full listing
and 0 writes for unchanged events; 429 on about a third of Google calls (seeded) still
converges; an exhausted quota stops the run (audited) and the next one goes on."""

from __future__ import annotations

from typing import Any

import pytest

from services.calendar.employees import Employee
from tests.calendar.conftest import CalEnv
from tests.calendar.test_sync_directions import google_meeting, meeting
from tests.clients.conftest import admin_post, set_faults

pytestmark = pytest.mark.timeout(120)
SB = "sb@kanzlei.example"
EMPLOYEE = Employee("SB", SB, True)
EVENTS_ROUTE = "GET /calendar/v3/calendars/{calendarId}/events"


async def mixed_calendar(cal: CalEnv, termine: int = 6, google_born: int = 3) -> None:
    """Termine from Advoware and events from Google, synced."""
    for n in range(termine):
        await cal.termin(**meeting(f"2026-03-{10 + n:02d}"), text=f"Termin {n}")
    await cal.sync()
    google = cal.owner.delegate(SB)
    for n in range(google_born):
        await google.insert_event(
            await cal.calendar_id(), google_meeting(f"2026-04-{10 + n:02d}", f"Google {n}")
        )
    assert (await cal.converge()).status == "noop"


async def test_a_lost_database_is_rebuilt_from_the_links_without_duplicates(cal: CalEnv) -> None:
    await mixed_calendar(cal)
    before = (
        len(cal.termine()),
        len(await cal.events()),
        {m.advoware_frnr: m.google_event_id for m in await cal.mappings()},
    )
    owners = {m.advoware_frnr: m.source_system for m in await cal.mappings()}
    await cal.db.delete_calendar_mappings("SB")
    await cal.db.driver.execute("DELETE FROM calendar_employees")
    cal.reset_counters()
    outcome = await cal.sync()
    assert outcome.done == {"rebuild": 9}, outcome.done
    assert cal.writes() == 0
    after = (
        len(cal.termine()),
        len(await cal.events()),
        {m.advoware_frnr: m.google_event_id for m in await cal.mappings()},
    )
    assert after == before
    assert {m.advoware_frnr: m.source_system for m in await cal.mappings()} == owners
    assert (await cal.sync()).status == "noop"


async def test_a_lost_mapping_table_with_the_employee_row_kept_is_rebuilt_too(cal: CalEnv) -> None:
    await mixed_calendar(cal)
    await cal.db.delete_calendar_mappings("SB")  # the sync token is still stored
    cal.reset_counters()
    outcome = await cal.sync()
    assert outcome.done == {"rebuild": 9} and outcome.full and cal.writes() == 0
    assert len(await cal.events()) == 9 and len(cal.termine()) == 9


async def test_a_lost_insert_answer_is_adopted(cal: CalEnv) -> None:
    frnr = await cal.termin(**meeting("2026-03-10"))
    await cal.sync()  # the calendar exists
    second = await cal.termin(**meeting("2026-03-11"))
    google_root = cal.google_sim.root
    await set_faults(
        google_root, {"method": "POST", "route": "*/events", "status": 503, "after_write": True, "count": 1}
    )
    outcome = await cal.sync()
    # The client retried its insert with the same id: 409 → the stored event is adopted.
    assert outcome.done == {"insert_google": 1}, (outcome.done, outcome.error)
    assert set(await cal.events()) == {f"adv{frnr}", f"adv{second}"}
    mapping = await cal.db.mapping_by_frnr("SB", second)
    assert mapping is not None and mapping.status == "synced" and mapping.google_etag
    assert (await cal.sync()).status == "noop"


async def test_410_gives_exactly_one_full_listing_and_no_writes(cal: CalEnv) -> None:
    await mixed_calendar(cal)
    await admin_post(cal.google_sim.root, "/_admin/invalidate-sync-tokens", {})
    cal.reset_counters()
    outcome = await cal.sync(employee=EMPLOYEE)
    assert outcome.status == "noop" and outcome.full
    calls = cal.google_calls()
    assert calls[EVENTS_ROUTE] == 2  # the refused incremental listing, then the one full listing
    assert cal.writes() == 0
    assert sum(cal.advo_calls().values()) == 1
    cal.reset_counters()
    assert (await cal.sync(employee=EMPLOYEE)).status == "noop"  # a fresh token again
    assert cal.google_calls()[EVENTS_ROUTE] == 1


async def test_429_on_a_third_of_google_calls_still_converges(cal: CalEnv) -> None:
    for n in range(15):
        await cal.termin(**meeting(f"2026-03-{10 + n:02d}"), text=f"Termin {n}")
    await cal.sync()
    google = cal.owner.delegate(SB)
    for n in range(5):
        await google.insert_event(await cal.calendar_id(), google_meeting(f"2026-04-{10 + n:02d}", f"G {n}"))
    for n in range(0, 15, 3):  # edits on both sides while Google is rate limiting
        frnr = sorted(cal.termine())[n]
        await cal.advoware.update_termin(frnr, {"text": f"geändert {n}"})
    rule: dict[str, Any] = {"route": "/calendar/v3/*", "status": 429, "rate": 0.34}
    await admin_post(cal.google_sim.root, "/_admin/faults", {"seed": 7, "rules": [rule]})
    for _ in range(10):
        cal.clock.advance(minutes=10)
        outcome = await cal.sync()
        if outcome.status == "noop" and all(m.status == "synced" for m in await cal.mappings()):
            break
    else:
        raise AssertionError(f"not converged: {outcome.status} {outcome.error}")
    limited = sum(n for (m, r, s), n in cal.google_sim.calls().items() if s == 429)
    assert limited > 0
    await set_faults(cal.google_sim.root)
    events = await cal.events()
    assert len(events) == 20 and len(cal.termine()) == 20  # no duplicate either way
    for frnr, termin in cal.termine().items():
        linked = [
            e for e in events.values() if e["extendedProperties"]["private"]["advowareFrNr"] == str(frnr)
        ]
        assert len(linked) == 1 and linked[0]["summary"] == termin["text"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_quota_exceeded_stops_the_run_audited_and_the_next_one_goes_on(
    cal: CalEnv, method: str
) -> None:
    """On the listing (nothing written) or on an insert (the rest waits, also the Termin POST of
    a new Google event)."""
    await cal.sync()
    for n in range(4):
        await cal.termin(**meeting(f"2026-03-{10 + n:02d}"))
    await cal.owner.insert_event(await cal.calendar_id(), google_meeting("2026-05-01"))
    limit = {"count": 1, "kind": "quotaExceeded", "route": "*/events", "method": method}
    await admin_post(cal.google_sim.root, "/_admin/rate-limit", limit)
    first = await cal.sync()
    assert first.status == "quota_exceeded"
    (entry, *_) = await cal.service.audit("SB")
    assert entry.result == "quota_exceeded" and "quotaExceeded" in str(entry.error)
    stored = await cal.db.get_calendar_employee("SB")
    assert stored is not None and stored.last_success is not None  # from the first run only
    second = await cal.converge()
    assert second.status == "noop" and len(await cal.events()) == 5 and len(cal.termine()) == 5
    assert not [m for m in await cal.mappings() if m.failure_count]  # the quota is nobody's failure
