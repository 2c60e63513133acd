"""Issue 13 acceptance, first point: create / update / delete in each direction, owner-wins
conflicts with one notice, a refused Advoware write → mapping failed + notice. Everything over
HTTP against the simulators; the Google user is the employee (writer by the calendar's ACL)."""

from __future__ import annotations

from typing import Any

import pytest

from services.calendar.ids import linked_frnr
from tests.calendar.conftest import SB_USER, CalEnv
from tests.clients.conftest import set_faults

pytestmark = pytest.mark.timeout(60)
SB = "sb@kanzlei.example"


def meeting(day: str, start: str = "10:00", end: str = "11:00", **more: Any) -> dict[str, Any]:
    return {"datum": day, "uhrzeitVon": start, "datumBis": day, "uhrzeitBis": end, **more}


def google_meeting(
    day: str, summary: str = "Mandant", start: str = "14:00", end: str = "15:00"
) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": f"{day}T{start}:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{day}T{end}:00", "timeZone": "Europe/Berlin"},
    }


async def employee_google(cal: CalEnv) -> Any:
    """The employee's own Google client: he edits the calendar shared with him."""
    return cal.owner.delegate(SB)


async def test_advoware_create_update_delete_reach_google(cal: CalEnv) -> None:
    frnr = await cal.termin(**meeting("2026-03-10"), text="Besprechung", ort="Kanzlei")
    assert (await cal.sync()).done == {"insert_google": 1}
    (event,) = (await cal.events()).values()
    assert event["id"] == f"adv{frnr}" and linked_frnr(event) == frnr
    assert event["summary"] == "Besprechung" and event["location"] == "Kanzlei"
    assert event["start"]["dateTime"] == "2026-03-10T10:00:00+01:00"

    await cal.advoware.update_termin(
        frnr, {"text": "Besprechung verlegt", "uhrzeitVon": "12:00", "uhrzeitBis": "13:00"}
    )
    assert (await cal.sync()).done == {"update_google": 1}
    event = (await cal.events())[f"adv{frnr}"]
    assert event["summary"] == "Besprechung verlegt" and event["start"]["dateTime"].startswith(
        "2026-03-10T12:00"
    )

    await cal.advoware.delete_termin(frnr)
    cal.reset_counters()
    assert (await cal.sync()).done == {"delete_google": 1}
    assert await cal.events() == {}
    assert cal.advo_calls()["GET /api/v1/advonet/Termine"] == 2  # the listing, then the confirming GET
    assert await cal.mappings() == []
    assert (await cal.sync()).status == "noop"


async def test_google_create_update_delete_reach_advoware(cal: CalEnv) -> None:
    await cal.sync()  # the calendar exists, shared with the employee
    google = await employee_google(cal)
    calendar = await cal.calendar_id()
    created = await google.insert_event(calendar, google_meeting("2026-03-12", "Telefonat Mandantin"))
    assert (await cal.sync()).done == {"create_advoware": 1}
    (termin,) = cal.termine().values()
    assert termin["text"] == "Telefonat Mandantin" and termin["uhrzeitVon"] == "14:00:00"
    event = (await cal.events())[created["id"]]
    assert linked_frnr(event) == termin["frNr"]  # the link, for a lost database

    await google.patch_event(
        calendar, created["id"], {"summary": "Telefonat verschoben", **google_meeting("2026-03-13")}
    )
    del_summary = await cal.sync()
    assert del_summary.done == {"update_advoware": 1}
    (termin,) = cal.termine().values()
    assert termin["text"] == "Mandant" and termin["datum"].startswith("2026-03-13")

    await google.delete_event(calendar, created["id"])
    assert (await cal.sync()).done == {"delete_advoware": 1}
    assert cal.termine() == {} and await cal.mappings() == []
    assert (await cal.sync()).status == "noop"


@pytest.mark.parametrize("owner", ["advoware", "google"])
async def test_both_sides_changed_the_owner_wins_with_one_notice(cal: CalEnv, owner: str) -> None:
    google = await employee_google(cal)
    if owner == "advoware":
        frnr = await cal.termin(**meeting("2026-03-10"), text="Original")
        await cal.sync()
        event_id = f"adv{frnr}"
    else:
        await cal.sync()
        event_id = (
            await google.insert_event(await cal.calendar_id(), google_meeting("2026-03-10", "Original"))
        )["id"]
        await cal.sync()
        (frnr,) = cal.termine()
    calendar = await cal.calendar_id()
    await cal.advoware.update_termin(frnr, {"text": "Advoware-Fassung"})
    await google.patch_event(calendar, event_id, {"summary": "Google-Fassung"})
    outcome = await cal.converge()
    assert outcome.status == "noop"
    winner = "Advoware-Fassung" if owner == "advoware" else "Google-Fassung"
    assert cal.termine()[frnr]["text"] == winner
    assert (await cal.events())[event_id]["summary"] == winner
    (notice,) = await cal.notices("conflict")
    assert notice["userId"] == SB_USER and notice["data"]["frnr"] == frnr
    assert "Advoware-Fassung" not in notice["message"] and "Google-Fassung" not in notice["message"]


async def test_a_refused_advoware_write_fails_the_mapping_with_one_notice(cal: CalEnv) -> None:
    await cal.sync()
    google = await employee_google(cal)
    calendar = await cal.calendar_id()
    created = await google.insert_event(calendar, google_meeting("2026-03-12"))
    await cal.sync()
    await set_faults(cal.advo_sim.url.rstrip("/"), {"method": "PUT", "route": "*/Termine/*", "status": 403})
    await google.patch_event(calendar, created["id"], {"summary": "geändert"})
    outcome = await cal.sync()
    assert outcome.status == "partial" and outcome.failed == 1
    (mapping,) = await cal.mappings()
    assert mapping.status == "failed" and "403" in str(mapping.failure_reason)
    (notice,) = await cal.notices("manual_action")
    assert notice["userId"] == SB_USER
    await cal.sync()  # the retry is not due yet: nothing, no second notice
    assert len(await cal.notices("manual_action")) == 1
    await set_faults(cal.advo_sim.url.rstrip("/"))  # Advoware accepts again
    outcome = await cal.converge()
    assert outcome.status == "noop"
    (termin,) = cal.termine().values()
    assert termin["text"] == "geändert"
    (mapping,) = await cal.mappings()
    assert mapping.status == "synced" and mapping.failure_count == 0


async def test_a_google_edit_that_failed_to_reach_advoware_is_not_lost_silently_by_a_delete(
    cal: CalEnv,
) -> None:
    """Found by the state machine: the failed PUT's run consumed the Google change from the
    incremental listing; when the Termin was then deleted in Advoware, the event went without the
    conflict notice, as the run no longer saw the edit."""
    await cal.sync()
    google = await employee_google(cal)
    calendar = await cal.calendar_id()
    created = await google.insert_event(calendar, google_meeting("2026-03-12", "Original"))
    await cal.sync()
    (frnr,) = cal.termine()
    await google.patch_event(calendar, created["id"], {"summary": "Google-Fassung"})
    await set_faults(cal.advo_sim.url.rstrip("/"), {"method": "PUT", "route": "*/Termine/*", "status": 503})
    assert (await cal.sync()).failed == 1
    await set_faults(cal.advo_sim.url.rstrip("/"))
    await cal.advoware.delete_termin(frnr)
    outcome = await cal.sync()  # the retry is not due: the event is not fetched
    assert outcome.done == {"delete_google": 1}
    assert await cal.events() == {} and cal.termine() == {}
    (notice,) = await cal.notices("conflict")
    assert notice["userId"] == SB_USER and notice["data"]["frnr"] == frnr
