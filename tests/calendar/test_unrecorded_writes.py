"""A write that landed while the process died before recording it (found by the long state
machine): the side it reached shows the service's own write, not an edit of that side's user.

An Advoware edit reaches Google, the process dies before the mapping is stored, and the Advoware
user changes the Termin back: the Google event shows the older edit, the stored mapping still
the content before both. Judged by the stored fingerprints alone, the Termin looked unchanged
and the event edited, so the event's content was written back over the user's last edit. The
mapping names the write before it is made (`write_intent`), so the next run knows that side
holds its own write and carries the other side's newer content over. The same the other way."""

from __future__ import annotations

import pytest

from services.calendar.mappings import CalendarMapping
from tests.calendar.conftest import CalEnv
from tests.calendar.test_writes import SB, WRITES, die_after, synced_google_event, synced_termin
from tests.clients.conftest import set_faults

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("owner", ["advoware", "google"])
async def test_an_advoware_edit_back_after_a_crash_behind_the_event_patch_wins(
    cal: CalEnv, owner: str
) -> None:
    frnr, event_id = await synced_pair(cal, owner)
    before = (await cal.events())[event_id]["summary"]
    await cal.advoware.update_termin(frnr, {"text": "Zwischenstand"})
    await die_after(cal, WRITES["patch event"])
    assert (await cal.events())[event_id]["summary"] == "Zwischenstand"  # landed, not recorded
    await cal.advoware.update_termin(frnr, {"text": before})  # the user changes it back
    await assert_converged_on(cal, frnr, event_id, before)


@pytest.mark.parametrize("owner", ["advoware", "google"])
async def test_a_google_edit_back_after_a_crash_behind_the_termin_update_wins(
    cal: CalEnv, owner: str
) -> None:
    frnr, event_id = await synced_pair(cal, owner)
    calendar = await cal.calendar_id()
    google = cal.owner.delegate(SB)
    before = cal.termine()[frnr]["text"]
    await google.patch_event(calendar, event_id, {"summary": "Zwischenstand"})
    await die_after(cal, WRITES["update termin"])
    assert cal.termine()[frnr]["text"] == "Zwischenstand"  # landed, not recorded
    await google.patch_event(calendar, event_id, {"summary": before})
    await assert_converged_on(cal, frnr, event_id, before)


async def synced_pair(cal: CalEnv, owner: str) -> tuple[int, str]:
    if owner == "advoware":
        frnr = await synced_termin(cal)
        return frnr, f"adv{frnr}"
    event_id = await synced_google_event(cal)
    (mapping,) = await cal.mappings()
    assert isinstance(mapping, CalendarMapping) and mapping.advoware_frnr is not None
    return mapping.advoware_frnr, event_id


async def assert_converged_on(cal: CalEnv, frnr: int, event_id: str, text: str) -> None:
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    assert cal.termine()[frnr]["text"] == (await cal.events())[event_id]["summary"] == text
    assert await cal.notices("conflict") == []  # one side's edit, no conflict
    (mapping,) = await cal.mappings()
    assert mapping.status == "synced" and mapping.write_intent is None
    cal.reset_counters()
    assert (await cal.sync()).status == "noop" and cal.writes() == 0


async def test_a_landed_write_is_recorded_before_the_next_write_names_another(cal: CalEnv) -> None:
    """Found by the long state machine: a Google edit reached Advoware unrecorded (the process
    died); the next Google edit's PUT failed, its intent replacing the first one; a third Google
    edit then found Advoware showing neither intent nor stored content — taken for an Advoware
    edit, Advoware won and the employee's last edit was reverted. A landed write is recorded as
    agreed before anything else is decided."""
    frnr = await synced_termin(cal)
    calendar, event_id = await cal.calendar_id(), f"adv{frnr}"
    google = cal.owner.delegate(SB)
    await google.patch_event(calendar, event_id, {"summary": "Erste"})
    await die_after(cal, WRITES["update termin"])
    assert cal.termine()[frnr]["text"] == "Erste"  # landed, not recorded
    await google.patch_event(calendar, event_id, {"summary": "Zweite"})
    await set_faults(cal.advo_sim.url.rstrip("/"), {"method": "PUT", "route": "*/Termine/*", "status": 503})
    assert (await cal.sync()).failed == 1
    await set_faults(cal.advo_sim.url.rstrip("/"))
    await google.patch_event(calendar, event_id, {"summary": "Dritte"})
    cal.clock.advance(hours=1)  # past the retry delay
    await assert_converged_on(cal, frnr, event_id, "Dritte")


async def test_an_advoware_edit_back_after_a_crash_behind_a_restore_wins(cal: CalEnv) -> None:
    """The restore of an event deleted in Google carries the Termin's newer content; the process
    dies behind it and the Advoware user changes the Termin back: his last edit wins."""
    frnr = await synced_termin(cal)
    calendar, event_id = await cal.calendar_id(), f"adv{frnr}"
    before = cal.termine()[frnr]["text"]
    await cal.advoware.update_termin(frnr, {"text": "Zwischenstand"})
    await cal.owner.delegate(SB).delete_event(calendar, event_id)
    await die_after(cal, WRITES["restore event"])
    assert (await cal.events())[event_id]["summary"] == "Zwischenstand"  # landed, not recorded
    await cal.advoware.update_termin(frnr, {"text": before})
    outcome = await cal.converge()
    assert outcome.status == "noop", (outcome.status, outcome.error)
    assert cal.termine()[frnr]["text"] == (await cal.events())[event_id]["summary"] == before
    cal.reset_counters()
    assert (await cal.sync()).status == "noop" and cal.writes() == 0
