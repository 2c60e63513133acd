"""Entry PUTs in flight (found by the Kommunikation state machine): a run that dies after an
entry PUT landed — before it stored the new state — or whose PUT lost its answer, must not make
the next run take the service's own write for a desktop user's edit (which would undo a later
EspoCRM edit without a notice). In-memory EspoCRM and Advoware over the real service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.beteiligte.kommunikation.read import Row
from services.beteiligte.kommunikation.state import IN_FLIGHT, in_flight, landed
from tests.beteiligte.fakes import Crash
from tests.beteiligte.world import ServiceWorld

pytestmark = pytest.mark.timeout(30)


class World(ServiceWorld):
    def __init__(self) -> None:
        self.open_world("komm-inflight-")
        self.pid = self.espo.user_create(
            {"lastName": "Muster", "emailAddressData": [{"emailAddress": "a@x.de", "primary": True}]}
        )
        assert self.sync("create").status == "created"
        self.betnr = int(self.espo.records[self.pid]["betnr"])

    def sync(self, action: str = "sync_check") -> Any:
        self.clock.now += timedelta(hours=1)  # past any retry delay
        return self._run(
            self.service.handle(self.pid, action, trigger=f"vmh.beteiligte.{action}", trace_id="t")
        )

    def emails(self) -> list[str]:
        return [i["emailAddress"] for i in self.espo.records[self.pid]["emailAddressData"]]

    def advo_emails(self) -> list[str]:
        return [e["tlf"] for e in self.advo.parties[self.betnr]["kommunikation"] if e["tlf"]]

    def snapshot(self) -> dict[str, Any]:
        return self._run(self.db.get_snapshot(self.pid)) or {}


@pytest.fixture
def world() -> Any:
    w = World()
    yield w
    w.close_world()


def test_a_crash_after_an_entry_put_is_not_taken_for_an_advoware_edit(world: World) -> None:
    # a@x.de removed and b@x.de added in EspoCRM: one PUT turns Advoware's entry into b@x.de;
    # the process dies at the EspoCRM write that follows, before the new state is stored
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "b@x.de", "primary": True}]})
    world.faults.armed["espo"] = "crash"
    with pytest.raises(Crash):
        world.sync()
    assert world.advo_emails() == ["b@x.de"] and IN_FLIGHT in world.snapshot()
    # the user changes it back in EspoCRM: that edit must reach Advoware
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "a@x.de", "primary": True}]})
    assert world.sync().status == "synced"
    assert world.emails() == ["a@x.de"] and world.advo_emails() == ["a@x.de"]
    assert IN_FLIGHT not in world.snapshot()
    assert not [n for n in world.espo.notices if n.get("kind") == "conflict"]
    writes = world.espo.writes + world.advo.writes
    assert world.sync().status in ("noop", "bookkeeping") and world.espo.writes + world.advo.writes == writes


def test_an_entry_put_that_lost_its_answer_is_learned_by_the_next_run(world: World) -> None:
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "b@x.de", "primary": True}]})
    world.faults.armed["KPUT"] = "after"  # applied, the answer lost
    assert world.sync().status == "failed"
    assert world.advo_emails() == ["b@x.de"] and IN_FLIGHT in world.snapshot()
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "c@x.de", "primary": True}]})
    assert world.sync().status == "synced"
    assert world.emails() == ["c@x.de"] and world.advo_emails() == ["c@x.de"]
    assert IN_FLIGHT not in world.snapshot()
    assert not [n for n in world.espo.notices if n.get("kind") == "conflict"]  # no conflict of its own


def test_a_desktop_edit_after_a_put_that_never_landed_is_still_an_edit(world: World) -> None:
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "b@x.de", "primary": True}]})
    world.faults.armed["KPUT"] = "before"  # a 5xx, refused: it may have landed for all we know
    assert world.sync().status == "failed"
    assert world.advo_emails() == ["a@x.de"] and IN_FLIGHT in world.snapshot()
    entry = world.advo.parties[world.betnr]["kommunikation"][0]
    world.advo.desktop_entry_edit(world.betnr, entry["id"], {"tlf": "d@x.de"})  # same entry: a conflict
    assert world.sync().status == "synced"
    assert world.emails() == ["b@x.de"] and world.advo_emails() == ["b@x.de"]  # EspoCRM wins
    assert len([n for n in world.espo.notices if n.get("kind") == "conflict"]) == 1


@pytest.mark.parametrize("how", ["after", "crash"])
def test_a_landed_espocrm_write_is_learned_so_a_later_advoware_delete_is_kept(world: World, how: str) -> None:
    # a desktop user adds a phone; the party's EspoCRM write carrying it lands, its answer is
    # lost (or the process dies); then the desktop user deletes the entry again
    entry = world.advo.desktop_entry(world.betnr, "+49 7", 1)
    world.faults.armed["espo"] = how
    try:
        world.sync()
    except Crash:
        pass
    assert [i["phoneNumber"] for i in world.espo.records[world.pid]["phoneNumberData"]] == ["+49 7"]
    assert IN_FLIGHT in world.snapshot()
    party = world.advo.parties[world.betnr]
    party["kommunikation"] = [e for e in party["kommunikation"] if e["id"] != entry]
    assert world.sync().status == "synced"
    # the delete reached EspoCRM; the entry was not POSTed again
    assert world.espo.records[world.pid]["phoneNumberData"] == []
    assert [e["tlf"] for e in party["kommunikation"]] == ["a@x.de"]
    writes = world.espo.writes + world.advo.writes
    assert world.sync().status in ("noop", "bookkeeping") and world.espo.writes + world.advo.writes == writes


def test_a_lost_post_answer_then_the_item_changed_in_espocrm_changes_that_entry(world: World) -> None:
    world.espo.user_update(
        world.pid, {"phoneNumberData": [{"phoneNumber": "+49 2", "type": "Office", "primary": True}]}
    )
    world.faults.armed["KPOST"] = "after"  # the entry is created, the answer lost
    assert world.sync().status == "failed"
    # before the next run the user changes the new phone in EspoCRM
    world.espo.user_update(
        world.pid, {"phoneNumberData": [{"phoneNumber": "+49 3", "type": "Office", "primary": True}]}
    )
    assert world.sync().status == "synced"
    phones = [e["tlf"] for e in world.advo.parties[world.betnr]["kommunikation"] if e["kommKz"] == 1]
    assert phones == ["+49 3"]  # the POSTed entry changed, not a second one; +49 2 not back in EspoCRM
    assert [i["phoneNumber"] for i in world.espo.records[world.pid]["phoneNumberData"]] == ["+49 3"]


def test_a_lost_post_answer_then_the_entry_emptied_in_advoware_removes_the_item(world: World) -> None:
    world.espo.user_update(
        world.pid, {"phoneNumberData": [{"phoneNumber": "+49 2", "type": "Office", "primary": True}]}
    )
    world.faults.armed["KPOST"] = "after"
    assert world.sync().status == "failed"
    posted = next(e for e in world.advo.parties[world.betnr]["kommunikation"] if e["tlf"] == "+49 2")
    world.advo.desktop_entry_edit(world.betnr, posted["id"], {"tlf": ""})  # a desktop user empties it
    assert world.sync().status == "synced"
    assert world.espo.records[world.pid]["phoneNumberData"] == []  # the delete reached EspoCRM
    assert [e["tlf"] for e in world.advo.parties[world.betnr]["kommunikation"] if e["kommKz"] == 1] == [""]


@pytest.mark.parametrize("how", ["after", "crash"])
def test_a_landed_espocrm_write_then_the_user_reverts_the_item(world: World, how: str) -> None:
    # a desktop edit a → b; the party's EspoCRM write carrying b (and the stamp) lands, its
    # answer is lost (or the process dies); then the EspoCRM user changes the item back to a.
    # EspoCRM's content alone cannot tell this from a write that never landed: the stamp can.
    entry = world.advo.parties[world.betnr]["kommunikation"][0]
    world.advo.desktop_entry_edit(world.betnr, entry["id"], {"tlf": "b@x.de"})
    world.faults.armed["espo"] = how
    try:
        assert world.sync().status == "failed"
    except Crash:
        pass
    assert world.emails() == ["b@x.de"] and IN_FLIGHT in world.snapshot()
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "a@x.de", "primary": True}]})
    assert world.sync().status == "synced"
    assert world.emails() == ["a@x.de"] and world.advo_emails() == ["a@x.de"]  # the user's edit won
    assert IN_FLIGHT not in world.snapshot()
    assert not [n for n in world.espo.notices if n.get("kind") == "conflict"]  # one edit after another
    writes = world.espo.writes + world.advo.writes
    assert world.sync().status in ("noop", "bookkeeping") and world.espo.writes + world.advo.writes == writes


@pytest.mark.parametrize("kind", ["KPUT", "espo"])
def test_a_crash_after_the_write_that_resolved_a_conflict_still_sends_its_notice(
    world: World, kind: str
) -> None:
    # both sides changed the e-mail since they last agreed: EspoCRM's c@x.de wins; the process
    # dies right after the entry PUT (or the EspoCRM write after it) landed, before the notice
    # went out; the next run no longer sees a conflict — it must send the notice, once
    entry = world.advo.parties[world.betnr]["kommunikation"][0]
    world.advo.desktop_entry_edit(world.betnr, entry["id"], {"tlf": "b@x.de"})
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "c@x.de", "primary": True}]})
    world.faults.armed[kind] = "crash"
    with pytest.raises(Crash):
        world.sync()
    assert world.advo_emails() == ["c@x.de"] and not world.espo.notices
    assert world.sync().status in ("synced", "bookkeeping", "noop")  # nothing left to write
    assert world.emails() == ["c@x.de"] and world.advo_emails() == ["c@x.de"]
    assert [n.get("kind") for n in world.espo.notices] == ["conflict"]
    assert world.sync().status in ("noop", "bookkeeping") and len(world.espo.notices) == 1
    assert not world.snapshot().get("heldNotices")


def test_a_landed_one_way_write_then_the_user_reverts_the_item(world: World) -> None:
    # an operator's to_espocrm run with work left (EspoCRM's new phone waits for Advoware) pulls
    # a desktop edit a → b; that write lands, its answer is lost; the EspoCRM user changes the
    # item back to a: the stamp the one-way write carried tells the next run it had landed
    world.espo.user_update(world.pid, {"phoneNumberData": [{"phoneNumber": "+49 5", "type": "Office"}]})
    entry = world.advo.parties[world.betnr]["kommunikation"][0]
    world.advo.desktop_entry_edit(world.betnr, entry["id"], {"tlf": "b@x.de"})
    world.faults.armed["espo"] = "after"
    world.clock.now += timedelta(hours=1)
    world._run(
        world.service.handle(world.pid, "sync_check", trigger="cli", trace_id="t", direction="to_espocrm")
    )
    assert world.emails() == ["b@x.de"] and IN_FLIGHT in world.snapshot()
    world.espo.user_update(world.pid, {"emailAddressData": [{"emailAddress": "a@x.de", "primary": True}]})
    assert world.sync().status == "synced"
    assert world.emails() == ["a@x.de"] and world.advo_emails() == ["a@x.de", "+49 5"]
    assert not [n for n in world.espo.notices if n.get("kind") == "conflict"]


def test_a_landed_slot_put_then_the_desktop_user_types_the_value_again_is_an_edit(world: World) -> None:
    # EspoCRM removes the e-mail: the PUT that empties its entry into a slot lands, its answer
    # is lost; a desktop user then types the same value into that slot — after the removal, so
    # the desktop user's entry wins: the slot marker the PUT wrote tells the next run it landed
    world.espo.user_update(world.pid, {"emailAddressData": []})
    world.faults.armed["KPUT"] = "after"
    assert world.sync().status == "failed"
    assert world.advo_emails() == [] and IN_FLIGHT in world.snapshot()
    entry = world.advo.parties[world.betnr]["kommunikation"][0]
    world.advo.desktop_entry_edit(world.betnr, entry["id"], {"tlf": "a@x.de"})
    assert world.sync().status == "synced"
    assert world.emails() == ["a@x.de"] and world.advo_emails() == ["a@x.de"]
    writes = world.espo.writes + world.advo.writes
    assert world.sync().status in ("noop", "bookkeeping") and world.espo.writes + world.advo.writes == writes


# -- the rule itself (pure) ---------------------------------------------------------------------

A, B = Row(7, 4, "a@x.de", None, True), Row(7, 4, "b@x.de", None, True)
WRITE = in_flight([], {"komm.7": B.to_json()}, "2026-01-02 10:00:00")


@pytest.mark.parametrize(
    ("stamp", "holds", "expected"),
    [
        ("2026-01-02 10:00:00", "b@x.de", B),  # landed, unchanged since
        ("2026-01-02 10:00:00", "a@x.de", B),  # landed, then the user changed it back: an edit
        ("2026-01-02 09:00:00", "b@x.de", A),  # never landed; the user typed the same value
        ("2026-01-02 09:00:00", "a@x.de", A),  # never landed
    ],
)
def test_an_espocrm_write_in_flight_landed_exactly_when_the_record_holds_its_stamp(
    stamp: str, holds: str, expected: Row
) -> None:
    record = {"advowareLastSync": stamp, "emailAddressData": [{"emailAddress": holds, "primary": True}]}
    assert WRITE["stamp"] == "2026-01-02 10:00:00"
    assert landed([A], [{"id": 7, "tlf": "b@x.de", "kommKz": 4}], record, WRITE) == [expected]


def test_an_espocrm_write_without_a_stamp_counts_where_espocrm_holds_its_items() -> None:
    unstamped = in_flight([], {"komm.7": B.to_json()})  # a one-way run on a clean record carries no stamp
    assert "stamp" not in unstamped
    entries = [{"id": 7, "tlf": "b@x.de", "kommKz": 4}]
    holding = {"emailAddressData": [{"emailAddress": "b@x.de", "primary": True}]}
    assert landed([A], entries, holding, unstamped) == [B]
    assert landed(
        [A], entries, {"emailAddressData": [{"emailAddress": "a@x.de", "primary": True}]}, unstamped
    ) == [A]
