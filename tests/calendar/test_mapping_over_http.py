"""The mapping against the simulators over HTTP: what it writes, each system accepts, and what
comes back maps to the same appointment (issue 13's time cases: all-day, multi-day, a weekly
10:00 series across the last Sunday of March and of October, 01:30-03:30 on the spring Sunday,
Sat 22:00-Sun 04:00 in autumn) — local times kept, nothing to write on the way back."""

from __future__ import annotations

from typing import Any

import pytest

from services.calendar.event_mapping import from_event, to_event, to_patch
from services.calendar.ids import linked_frnr
from services.calendar.termin_mapping import from_termin, to_termin
from services.clients import AdvowareClient, GoogleCalendarClient, SessionHolder
from tests.clients.conftest import holder, make_google_client  # noqa: F401
from tests.clients.test_advoware_client import make_client as make_advoware
from tests.fixtures.advoware_sim import AdvowareSim, advoware_sim  # noqa: F401
from tests.fixtures.google_sim import OWNER, GoogleSim, google_sim  # noqa: F401

CASES: dict[str, dict[str, Any]] = {
    "all-day": {"datum": "2026-03-27", "datumBis": "2026-03-27", "dauertermin": 1, "text": "Urlaub"},
    "multi-day": {"datum": "2026-10-23", "datumBis": "2026-10-27", "dauertermin": 1, "text": "Seminar"},
    "weekly across March": {"datum": "2026-03-16", "uhrzeitVon": "10:00", "datumBis": "2026-03-16",
                            "uhrzeitBis": "11:00", "turnus": 1, "turnusArt": 2, "turnusBis": "2026-04-13",
                            "text": "Teambesprechung"},
    "weekly across October": {"datum": "2026-10-12", "uhrzeitVon": "10:00", "datumBis": "2026-10-12",
                              "uhrzeitBis": "11:00", "turnus": 1, "turnusArt": 2, "turnusBis": "2026-11-09",
                              "text": "Teambesprechung"},
    "spring night": {"datum": "2026-03-29", "uhrzeitVon": "01:30", "datumBis": "2026-03-29", "uhrzeitBis": "03:30",
                     "text": "Fristenbriefkasten", "ort": "Kanzlei"},
    "autumn night": {"datum": "2026-10-24", "uhrzeitVon": "22:00", "datumBis": "2026-10-25", "uhrzeitBis": "04:00",
                     "text": "Nachtschicht", "notiz": "Akte 12/26"},
}  # fmt: skip


@pytest.fixture
def advoware(advoware_sim: AdvowareSim, holder: SessionHolder) -> AdvowareClient:  # noqa: F811
    advoware_sim.state.add_employee("SB", "Beispiel", "Sabine")
    return make_advoware(advoware_sim, holder)


@pytest.fixture
def google(google_sim: GoogleSim, holder: SessionHolder) -> GoogleCalendarClient:  # noqa: F811
    return make_google_client(google_sim, holder, subject=OWNER)


@pytest.mark.parametrize("case", list(CASES))
async def test_advoware_to_google_and_back(
    case: str, advoware: AdvowareClient, google: GoogleCalendarClient
) -> None:
    created = await advoware.create_termin({"kuerzel": "SB", **CASES[case]})
    appointment = from_termin(created)
    calendar = (await google.insert_calendar("SB", "Europe/Berlin"))["id"]
    inserted = await google.insert_event(calendar, to_event(appointment, frnr=created["frNr"], kuerzel="SB"))
    stored = await google.get_event(calendar, inserted["id"])
    assert from_event(stored) == appointment
    assert linked_frnr(stored) == created["frNr"]
    # Back to Advoware: the PUT changes nothing, so a second run finds nothing to write.
    updated = await advoware.update_termin(created["frNr"], to_termin(from_event(stored), "SB"))
    assert from_termin(updated) == appointment
    assert from_termin(updated).fingerprint() == from_termin(created).fingerprint()


@pytest.mark.parametrize(
    ("case", "offsets"),
    [("weekly across March", ["+01:00", "+01:00", "+02:00", "+02:00", "+02:00"]),
     ("weekly across October", ["+02:00", "+02:00", "+01:00", "+01:00", "+01:00"])],
)  # fmt: skip
async def test_weekly_series_keeps_10_local_across_the_change(
    case: str, offsets: list[str], advoware: AdvowareClient, google: GoogleCalendarClient
) -> None:
    created = await advoware.create_termin({"kuerzel": "SB", **CASES[case]})
    calendar = (await google.insert_calendar("SB", "Europe/Berlin"))["id"]
    event = await google.insert_event(
        calendar, to_event(from_termin(created), frnr=created["frNr"], kuerzel="SB")
    )
    instances = await google.list_instances(calendar, event["id"])
    starts = [i["start"]["dateTime"] for i in instances]
    assert [s[11:19] for s in starts] == ["10:00:00"] * 5  # turnusBis day included
    assert [s[-6:] for s in starts] == offsets


async def test_google_born_event_to_advoware_and_back(
    advoware: AdvowareClient, google: GoogleCalendarClient
) -> None:
    """An event a user made in Google (UTC times, no zone, a guest) becomes a Termin, and the
    Termin maps back to the same content."""
    calendar = (await google.insert_calendar("SB", "Europe/Berlin"))["id"]
    user_event = {
        "summary": "Mandant Müller",
        "start": {"dateTime": "2026-10-25T00:30:00Z"},  # the first 02:30 of the autumn night
        "end": {"dateTime": "2026-10-25T03:00:00Z"},  # 04:00 winter time
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=SU;UNTIL=20261122T225959Z"],
        "description": "per Telefon",
    }
    with pytest.raises(ValueError):
        await google.insert_event(calendar, {**user_event, "attendees": [{"email": "m@example.org"}]})
    raw = await google.insert_event(
        calendar, {**user_event, "start": {**user_event["start"], "timeZone": "Europe/Berlin"}}
    )
    appointment = from_event(await google.get_event(calendar, raw["id"]))
    termin = await advoware.create_termin(to_termin(appointment, "SB"))
    assert (termin["datum"], termin["uhrzeitVon"], termin["uhrzeitBis"]) == (
        "2026-10-25T00:00:00",
        "02:30:00",
        "04:00:00",
    )
    assert (termin["turnus"], termin["turnusArt"], termin["turnusBis"]) == (1, 2, "2026-11-22T00:00:00")
    assert from_termin(termin) == appointment
    # The link is then patched into the event; the event still shows the same appointment.
    patched = await google.patch_event(
        calendar, raw["id"], to_patch(appointment, frnr=termin["frNr"], kuerzel="SB")
    )
    assert linked_frnr(patched) == termin["frNr"] and from_event(patched) == appointment
