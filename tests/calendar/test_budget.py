"""Issue 13 acceptance, the no-change budget: a sync of an unchanged calendar makes 1 Google call
(the incremental listing) and 1 Advoware call (the window's listing) and 0 writes — the same for
10 and for 500 events (token calls and the all-run's one employee listing are not counted).
Asserted from the client's call log and from the simulators' counters."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.calendar.employees import Employee
from tests.calendar.conftest import CalEnv
from tests.calendar.test_sync_directions import google_meeting, meeting

pytestmark = pytest.mark.timeout(120)
EMPLOYEE = Employee("SB", "sb@kanzlei.example", True)


@pytest.mark.parametrize("events", [10, 500])
async def test_a_no_change_sync_costs_one_call_per_system(cal: CalEnv, events: int) -> None:
    advoware_born = events * 4 // 5
    for n in range(advoware_born):
        day = date(2026, 3, 3) + timedelta(days=n % 360)
        await cal.termin(
            **meeting(day.isoformat(), f"{8 + n % 9:02d}:00", f"{9 + n % 9:02d}:00"), text=f"T{n}"
        )
    await cal.sync(employee=EMPLOYEE)
    google = cal.owner.delegate(EMPLOYEE.email)
    for n in range(events - advoware_born):
        await google.insert_event(
            await cal.calendar_id(), google_meeting((date(2026, 3, 3) + timedelta(days=n)).isoformat())
        )
    assert (await cal.converge()).status == "noop"
    assert len(await cal.events()) == events and len(cal.termine()) == events
    for _ in range(2):
        cal.reset_counters()
        outcome = await cal.sync(employee=EMPLOYEE)
        assert outcome.status == "noop"
        assert outcome.calls == {"google_read": 1, "advoware_read": 1}, outcome.calls
        assert sum(cal.google_calls().values()) == 1 and sum(cal.advo_calls().values()) == 1
        assert cal.writes() == 0
