"""One-way runs with Kommunikation (found by the state machine's long profile): a `to_espocrm`
run that leaves an EspoCRM item waiting for Advoware must not pull a new Advoware entry of the
same value beside it. In-memory EspoCRM and Advoware over the real service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.beteiligte.kommunikation.kinds import normalise
from tests.kommunikation.test_entries_in_flight import World

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def world() -> Any:
    w = World()
    w.espo.user_update(
        w.pid, {"phoneNumberData": [{"phoneNumber": "+49 1", "type": "Office", "primary": True}]}
    )
    assert w.sync().status == "synced"
    yield w
    w.close_world()


def phones(world: World) -> list[str]:
    return [normalise("phone", i["phoneNumber"]) for i in world.espo.records[world.pid]["phoneNumberData"]]


def advo_phones(world: World) -> list[str]:
    entries = world.advo.parties[world.betnr]["kommunikation"]
    return sorted(normalise("phone", e["tlf"]) for e in entries if e["kommKz"] != 4 and e["tlf"].strip())


def test_a_to_espocrm_run_does_not_pull_a_value_beside_the_item_it_leaves(world: World) -> None:
    # EspoCRM changes the phone's type (a new entry of the new kind in Advoware: a to_espocrm
    # run leaves it); a desktop user changes that entry to another number and types the old one,
    # without the space, into a new entry
    world.espo.user_update(
        world.pid, {"phoneNumberData": [{"phoneNumber": "+49 1", "type": "Fax", "primary": True}]}
    )
    synced = next(e for e in world.advo.parties[world.betnr]["kommunikation"] if e["kommKz"] == 1)
    world.advo.desktop_entry_edit(world.betnr, synced["id"], {"tlf": "+49 2"})
    world.advo.desktop_entry(world.betnr, "+491", 2)
    world.clock.now += timedelta(hours=1)
    world._run(
        world.service.handle(world.pid, "sync_check", trigger="cli", trace_id="t", direction="to_espocrm")
    )
    assert phones(world) == ["+491"]  # not twice
    assert world.sync().status == "synced"  # the two-way run does what waited
    assert phones(world) == ["+491"]  # EspoCRM's type change won the conflict with "+49 2"
    assert advo_phones(world) == ["+491"]
    writes = world.espo.writes + world.advo.writes
    assert world.sync().status in ("noop", "bookkeeping") and world.espo.writes + world.advo.writes == writes
