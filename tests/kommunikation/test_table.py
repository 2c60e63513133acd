"""The scenario table of the Kommunikation sync: the 32 rows of the original review (seed BUG-1 to
BUG-4 fixed) and the rows it lacked, each against both simulators over HTTP, each ending with a
second run that writes nothing. E = EspoCRM, A = Advoware, S = the per-entry state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from services.beteiligte.kommunikation.marker import parse
from services.sync.policy import RetryPolicy
from tests.beteiligte_service.conftest import ENTITY, Env
from tests.kommunikation.helpers import Party, email, phone

pytestmark = pytest.mark.timeout(60)
ROWS: dict[int, Callable[[Env], Awaitable[None]]] = {}


def row(n: int) -> Callable[[Callable[[Env], Awaitable[None]]], Callable[[Env], Awaitable[None]]]:
    def register(fn: Callable[[Env], Awaitable[None]]) -> Callable[[Env], Awaitable[None]]:
        ROWS[n] = fn
        return fn

    return register


def marker_value(p: Party, entry_id: int) -> str | None:
    return parse(p.entry(entry_id).bemerkung).value


# 1–6: one side, one entry ---------------------------------------------------------------------


@row(1)
async def new_email_in_espocrm(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    await p.set_sets(emails=[email("a@x.de", True), email("new@x.de")])
    assert (await p.sync()).status == "synced"
    entry = p.entry_of("new@x.de")
    assert entry.kommKz == 4 and marker_value(p, entry.id) == "new@x.de" and entry.api_created  # a POST
    assert "new@x.de" in await p.state_values()
    await p.settled()


@row(2)
async def new_phone_in_advoware(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("+49 30 1", "Office", True)])
    added = p.add_entry("0221 555", 6)
    assert (await p.sync()).status == "synced"
    assert p.advo_writes() == {}
    assert {(i["phoneNumber"], i["type"]) for i in await p.phones()} == {
        ("+49 30 1", "Office"),
        ("0221 555", "Home"),
    }
    assert p.entry(added).bemerkung == ""  # lazy markers: no write of its own
    assert "0221 555" in await p.state_values()
    await p.settled()


@row(3)
async def entry_removed_in_espocrm(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True), email("b@x.de")])
    b = p.entry_of("b@x.de").id
    p.edit_entry(b, bemerkung=p.entry(b).bemerkung + " Zentrale")  # a user's note after the marker
    await p.set_sets(emails=[email("a@x.de", True)])
    assert (await p.sync()).status == "synced"
    slot = p.entry(b)
    assert (slot.tlf, slot.online, slot.bemerkung) == ("", False, "[ESPOCRM-SLOT:4] Zentrale")
    assert await p.state_values() == {"a@x.de"}
    await p.settled()


@row(4)
async def entry_removed_in_advoware(env: Env) -> None:
    p = await Party.synced(
        env, phones=[phone("+49 1", "Office", True), phone("+49 2", "Mobile"), phone("+49 3", "Home")]
    )
    p.remove_entry(p.entry_of("+49 2").id)  # gone from the party GET
    p.edit_entry(p.entry_of("+49 3").id, tlf="")  # tlf emptied
    assert (await p.sync()).status == "synced"
    assert [i["phoneNumber"] for i in await p.phones()] == ["+49 1"]
    assert await p.state_values() == {"+49 1"}
    await p.settled()


@row(5)
async def value_or_primary_changed_in_espocrm(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True), email("b@x.de")])
    a, b = p.entry_of("a@x.de").id, p.entry_of("b@x.de").id
    await p.set_sets(emails=[email("a2@x.de"), email("b@x.de", True)])  # value of a, primary to b
    assert (await p.sync()).status == "synced"
    assert (p.entry(a).tlf, p.entry(a).online, marker_value(p, a)) == ("a2@x.de", False, "a2@x.de")
    assert p.entry(b).online and marker_value(p, b) == "b@x.de"
    assert not [e for e in p.entries() if e.id not in (a, b)]  # the same entries, no POST
    await p.settled()


@row(6)
async def value_changed_in_advoware(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("+49 1", "Mobile", True)])
    p.edit_entry(p.entry_of("+49 1").id, tlf="+49 111")
    assert (await p.sync()).status == "synced"
    assert p.advo_writes() == {}
    assert [(i["phoneNumber"], i["type"]) for i in await p.phones()] == [("+49 111", "Mobile")]
    assert await p.state_values() == {"+49 111"}
    await p.settled()


# 7–11: both sides --------------------------------------------------------------------------------


async def both_new(env: Env, **kw: str) -> Party:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    await p.set_sets(emails=[email("a@x.de", True), email("new@x.de")])
    p.add_entry("+49 222", 1)
    await p.sync(**kw)
    return p


@row(7)
async def new_on_both_sides(env: Env) -> None:
    p = await both_new(env)
    assert await p.espo_values() == {"a@x.de", "new@x.de", "+49 222"} == set(p.live())
    await p.settled()


@row(8)
async def same_change_on_both_sides(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    p.edit_entry(p.entry_of("a@x.de").id, tlf="b@x.de")
    await p.set_sets(emails=[email("b@x.de", True)])
    await p.sync()
    assert p.advo_writes() == {} and await p.state_values() == {"b@x.de"}
    await p.settled()


@row(9)
async def same_entry_changed_differently(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    a = p.entry_of("a@x.de").id
    await p.set_sets(emails=[email("b@x.de", True)])
    p.edit_entry(a, tlf="c@x.de")
    await p.sync()
    assert p.entry(a).tlf == "b@x.de" and await p.espo_values() == {"b@x.de"}
    assert len(await p.notices("conflict")) == 1
    await p.settled()
    assert len(await p.notices("conflict")) == 1


@row(10)
async def new_in_espocrm_and_deleted_in_advoware(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)], phones=[phone("+49 9", "Office", True)])
    await p.set_sets(emails=[email("a@x.de", True), email("new@x.de")])
    p.remove_entry(p.entry_of("+49 9").id)
    await p.sync()
    assert "new@x.de" in p.live() and await p.phones() == []
    await p.settled()


@row(11)
async def primary_moved_on_both_sides(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True), email("b@x.de"), email("c@x.de")])
    a, b, c = (p.entry_of(v).id for v in ("a@x.de", "b@x.de", "c@x.de"))
    await p.set_sets(emails=[email("a@x.de"), email("b@x.de", True), email("c@x.de")])
    p.edit_entry(a, online=False)
    p.edit_entry(c, online=True)
    await p.sync()
    assert [p.entry(i).online for i in (a, b, c)] == [False, True, False]
    assert [i["primary"] for i in await p.emails()] == [False, True, False]
    assert len(await p.notices("conflict")) == 1
    await p.settled()


# 12–16: initial sync -------------------------------------------------------------------------------


@row(12)
async def initial_both_empty(env: Env) -> None:
    p = await Party.unsynced(env)
    await p.sync()
    assert p.advo_writes() == {} and p.entries() == []
    assert await p.state_rows() == []
    await p.settled()


@row(13)
async def initial_only_espocrm(env: Env) -> None:
    p = await Party.unsynced(
        env, emails=[email("a@x.de", True), email("b@x.de")], phones=[phone("+49 1", "Mobile", True)]
    )
    slot = p.add_entry("", 4, "[ESPOCRM-SLOT:4]")
    await p.sync()
    assert set(p.live()) == {"a@x.de", "b@x.de", "+49 1"}
    assert p.entry(slot).tlf == "a@x.de"  # the slot first
    assert len(p.entries()) == 3
    await p.settled()


@row(14)
async def initial_only_advoware(env: Env) -> None:
    p = await Party.unsynced(env)
    p.add_entry("a@x.de", 4, online=True)
    p.add_entry("+49 1", 3, online=True)
    await p.sync()
    assert await p.espo_values() == {"a@x.de", "+49 1"}
    assert p.advo_writes() == {}
    await p.settled()


@row(15)
async def initial_both_ways(env: Env) -> None:
    p = await Party.unsynced(env, emails=[email("a@x.de", True)])
    p.add_entry("+49 2", 1, online=True)
    await p.sync()
    assert await p.espo_values() == {"a@x.de", "+49 2"} == set(p.live())
    await p.settled()


@row(16)
async def initial_same_email_case_differs(env: Env) -> None:
    p = await Party.unsynced(env, emails=[email("Max@X.de", True)])
    e = p.add_entry("max@x.de", 4, online=True)
    await p.sync()
    assert p.advo_writes() == {} and p.entry(e).bemerkung == ""  # no data write, no marker write
    assert [i["emailAddress"] for i in await p.emails()] == ["Max@X.de"] and len(p.entries()) == 1
    assert [r["id"] for r in await p.state_rows()] == [e]
    await p.settled()


# 17–20: slots ---------------------------------------------------------------------------------------


@row(17)
async def user_typed_into_a_slot(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True), email("b@x.de")])
    b = p.entry_of("b@x.de").id
    await p.set_sets(emails=[email("a@x.de", True)])
    await p.sync()  # b → slot
    p.edit_entry(b, tlf="typed@x.de")
    await p.sync()
    assert await p.espo_values() == {"a@x.de", "typed@x.de"}
    await p.settled()


@row(18)
async def new_entry_reuses_a_slot(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    slot = p.add_entry("", 4, "[ESPOCRM-SLOT:4]")
    await p.set_sets(emails=[email("a@x.de", True), email("n@x.de")])
    await p.sync()
    assert p.entry(slot).tlf == "n@x.de" and len(p.entries()) == 2
    assert ("POST", "/api/v1/advonet/Beteiligte/{betNr}/Kommunikationen") not in p.advo_writes()
    await p.settled()


@row(19)
async def lowest_slot_id_is_reused(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    first = p.add_entry("", 4, "[ESPOCRM-SLOT:4]")
    second = p.add_entry("", 4, "[ESPOCRM-SLOT:4]")
    await p.set_sets(emails=[email("a@x.de", True), email("n@x.de")])
    await p.sync()
    assert p.entry(first).tlf == "n@x.de" and p.entry(second).tlf == ""
    await p.settled()


@row(20)
async def slot_user_text_is_kept(env: Env) -> None:
    p = await Party.synced(env)
    slot = p.add_entry("", 3, "[ESPOCRM-SLOT:3] nur abends")
    await p.set_sets(phones=[phone("0171 1", "Mobile", True)])
    await p.sync()
    assert p.entry(slot).tlf == "0171 1" and p.user_text(slot) == "nur abends"
    assert p.entry(slot).bemerkung.startswith("[ESPOCRM:")
    await p.settled()


# 21–24: direction --------------------------------------------------------------------------------


@row(21)
async def both_directions(env: Env) -> None:
    p = await both_new(env, direction="both")
    assert await p.espo_values() == {"a@x.de", "new@x.de", "+49 222"} == set(p.live())
    await p.settled()


@row(22)
async def to_espocrm_keeps_espocrm_edits_for_later(env: Env) -> None:
    p = await both_new(env, direction="to_espocrm")
    assert "+49 222" in await p.espo_values() and "new@x.de" not in p.live()
    assert "new@x.de" not in await p.state_values()  # BUG-4: not in S, so not lost
    assert (await p.record())["syncStatus"] != "clean"  # work left for a two-way run
    await p.sync()
    assert "new@x.de" in p.live()
    await p.settled()


@row(23)
async def to_advoware_reverts_advoware_edits(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    await p.set_sets(emails=[email("a@x.de", True), email("new@x.de")])
    added = p.add_entry("+49 222", 1)
    before = await p.phones()
    await p.sync(direction="to_advoware")
    assert "new@x.de" in p.live() and p.entry(added).tlf == "" and await p.phones() == before
    assert "+49 222" not in await p.state_values()
    await p.settled()


@row(24)
async def to_advoware_reverts_a_change(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("+49 1", "Office", True)])
    e = p.entry_of("+49 1").id
    p.edit_entry(e, tlf="+49 2")
    await p.sync(direction="to_advoware")
    assert p.entry(e).tlf == "+49 1" and [i["phoneNumber"] for i in await p.phones()] == ["+49 1"]
    await p.settled()


# 25–32: what is synced, and kinds ------------------------------------------------------------------


@row(25)
async def only_sync_relevant_entries(env: Env) -> None:
    p = await Party.unsynced(env)
    for tlf, kind in (("a@x.de", 4), ("+49 1", 1), ("+49 2", 3), ("b@x.de", 8)):
        p.add_entry(tlf, kind)
    others = [p.add_entry(t, k) for t, k in (("www.x.de", 5), ("epost", 11), ("bea", 12))]
    others += [p.add_entry("", 4, "[ESPOCRM-SLOT:4]"), p.add_entry("", 1, "[ESPOCRM-SLOT:1]")]
    notes = {i: (p.entry(i).tlf, p.entry(i).bemerkung, p.entry(i).rowId) for i in others}
    await p.sync()
    assert await p.state_values() == {"a@x.de", "+49 1", "+49 2", "b@x.de"}
    assert {i: (p.entry(i).tlf, p.entry(i).bemerkung, p.entry(i).rowId) for i in others} == notes
    await p.settled()


@row(26)
async def slots_are_not_in_the_state(env: Env) -> None:
    p = await Party.unsynced(env)
    for tlf in ("+49 1", "+49 2", "+49 3"):
        p.add_entry(tlf, 1)
    p.add_entry("", 1, "[ESPOCRM-SLOT:1]")
    p.add_entry("", 4, "[ESPOCRM-SLOT:4]")
    await p.sync()
    assert await p.state_values() == {"+49 1", "+49 2", "+49 3"}
    await p.settled()


@row(27)
async def all_entries_empty(env: Env) -> None:
    p = await Party.unsynced(env)
    p.add_entry("", 1, "[ESPOCRM-SLOT:1]")
    p.add_entry("   ", 4)
    await p.sync()
    assert await p.state_rows() == [] and p.advo_writes() == {}
    assert await p.emails() == [] and await p.phones() == []
    await p.settled()


async def kinds_of(p: Party) -> dict[str, int]:
    return {r["value"]: r["kind"] for r in await p.state_rows()}


@row(28)
async def email_without_marker_kommkz_zero(env: Env) -> None:
    p = await Party.unsynced(env)
    p.add_entry("test@mail.com", 4, zero=True)
    await p.sync()
    assert (await kinds_of(p))["test@mail.com"] == 4
    assert [i["emailAddress"] for i in await p.emails()] == ["test@mail.com"]
    await p.settled()


@row(29)
async def phone_without_marker_kommkz_zero(env: Env) -> None:
    p = await Party.unsynced(env)
    p.add_entry("+4930123", 3, zero=True)
    await p.sync()
    assert (await kinds_of(p))["+4930123"] == 1
    assert [(i["phoneNumber"], i["type"]) for i in await p.phones()] == [("+4930123", "Office")]
    await p.settled()


@row(30)
async def espocrm_type_mobile(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("0171 9", "Mobile", True)])
    assert p.entry_of("0171 9").kommKz == 3 and (await kinds_of(p))["0171 9"] == 3
    await p.settled()


@row(31)
async def espocrm_type_fax(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("+49 30 9", "Fax", True)])
    assert p.entry_of("+49 30 9").kommKz == 2 and (await kinds_of(p))["+49 30 9"] == 2
    await p.settled()


@row(32)
async def marker_gives_the_kind(env: Env) -> None:
    p = await Party.unsynced(env)
    # kommKz reads 0; the marker says 7 (FaxPrivat): the entry is a private fax, EspoCRM "Fax"
    p.add_entry("+49 30 7", 7, "[ESPOCRM:KzQ5IDMwIDc=:7]", zero=True)
    await p.sync()
    assert (await kinds_of(p))["+49 30 7"] == 7
    assert [(i["phoneNumber"], i["type"]) for i in await p.phones()] == [("+49 30 7", "Fax")]
    await p.settled()


# 33–46: the rows the review lacked ------------------------------------------------------------------


@row(33)
async def type_changed_office_to_mobile(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("+49 5", "Office", True)])
    old = p.entry_of("+49 5").id
    p.edit_entry(old, bemerkung=p.entry(old).bemerkung + " Empfang")
    await p.set_sets(phones=[phone("+49 5", "Mobile", True)])
    await p.sync()
    assert (p.entry(old).tlf, p.entry(old).bemerkung) == ("", "[ESPOCRM-SLOT:1] Empfang")
    assert p.entry_of("+49 5").kommKz == 3
    assert (await kinds_of(p))["+49 5"] == 3
    await p.settled()


@row(34)
async def advoware_email_espocrm_would_reject(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)])
    bad = p.add_entry("kein-at-zeichen", 4)
    outcome = await p.sync()
    assert outcome.status in ("noop", "bookkeeping") and (await p.record())["syncStatus"] == "clean"
    notices = await p.notices("manual_action")
    assert len(notices) == 1 and str(bad) in notices[0]["message"]
    assert p.writes() == 0
    await p.settled()
    assert len(await p.notices("manual_action")) == 1


@row(35)
async def same_value_twice_in_advoware(env: Env) -> None:
    p = await Party.unsynced(env)
    low = p.add_entry("+49 7", 1)
    high = p.add_entry("+49 7", 1)
    await p.sync()
    assert [r["id"] for r in await p.state_rows()] == [low]
    assert [i["phoneNumber"] for i in await p.phones()] == ["+49 7"]
    assert p.entry(high).bemerkung == "" and p.advo_writes() == {}
    await p.settled()
    await p.settled()


@row(36)
async def flags_survive_the_espocrm_write(env: Env) -> None:
    p = await Party.synced(
        env,
        emails=[email("a@x.de", True, optOut=True)],
        phones=[phone("+49 1", "Office", True, invalid=True)],
    )
    p.add_entry("+49 2", 3)
    await p.sync()
    assert (await p.emails())[0]["optOut"] is True
    flags = {i["phoneNumber"]: i["invalid"] for i in await p.phones()}
    assert flags == {"+49 1": True, "+49 2": False}
    await p.settled()


@row(37)
async def third_entry_write_fails(env: Env) -> None:
    p = await Party.synced(env)
    await p.set_sets(emails=[email("a@x.de", True), email("b@x.de"), email("c@x.de")])
    # the first two POSTs go through, the third is refused (a 4xx: surely not created)
    posts = {"method": "POST", "route": "*/Kommunikationen"}
    await env.faults(
        "advoware", {"rules": [{**posts, "status": None, "count": 2}, {**posts, "status": 400, "count": 1}]}
    )
    outcome = await p.sync()
    assert outcome.status == "failed" and (await p.record())["syncStatus"] == "failed"
    assert await p.state_values() == {"a@x.de", "b@x.de"}
    await env.faults("advoware", {})
    env.clock.advance(minutes=2)
    await p.sync()
    assert [w for w in p.advo_writes()] == [("POST", "/api/v1/advonet/Beteiligte/{betNr}/Kommunikationen")]
    assert sorted(p.live()) == ["a@x.de", "b@x.de", "c@x.de"] and len(p.entries()) == 3
    await p.settled()


@row(38)
async def lost_answer_of_an_entry_post(env: Env) -> None:
    p = await Party.synced(env)
    await p.set_sets(emails=[email("a@x.de", True)])
    await env.faults("advoware", {"rules": [{"method": "POST", "route": "*/Kommunikationen", "status": 502,
                                             "after_write": True, "count": 1}]})  # fmt: skip
    assert (await p.sync()).status == "failed"
    assert len(p.entries()) == 1 and await p.state_rows() == []
    env.clock.advance(minutes=2)
    await p.sync()
    assert len(p.entries()) == 1 and await p.state_values() == {"a@x.de"}
    assert p.advo_writes() == {}  # paired by its marker: nothing posted again
    await p.settled()


@row(39)
async def party_conflict_and_new_phone(env: Env) -> None:
    p = await Party.synced(env)
    await env.espo_sim.update_as_user(ENTITY, p.pid, {"titel": "Dr."})
    await env.advo_put(p.betnr, {"titel": "Prof."})
    p.add_entry("+49 3", 1)
    await p.sync()
    rec = await p.record()
    assert rec["titel"] == "Dr." and env.advo_parties()[p.betnr].values["titel"] == "Dr."
    assert [i["phoneNumber"] for i in await p.phones()] == ["+49 3"]
    await p.settled()


@row(40)
async def roundtrip_block_lifted_by_a_phone_change(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("+49 1", "Office", True)])
    cfg = env.advo_sim.state.config
    cfg.party_fields = tuple(f for f in cfg.party_fields if f != "titel")  # Advoware ignores titel
    await env.espo_sim.update_as_user(ENTITY, p.pid, {"titel": "Dr."})
    assert (await p.sync()).status == "failed"
    env.clock.advance(minutes=2)
    assert (await p.sync()).status == "permanently_failed"
    assert (await p.sync()).status == "blocked"
    await p.set_sets(phones=[phone("+49 2", "Office", True)])
    outcome = await p.sync()
    assert outcome.status != "blocked" and "+49 2" in p.live()


@row(41)
async def removed_in_espocrm_changed_in_advoware(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True), email("b@x.de")])
    b = p.entry_of("b@x.de").id
    await p.set_sets(emails=[email("a@x.de", True)])
    p.edit_entry(b, tlf="b2@x.de")
    await p.sync()
    assert p.entry(b).tlf == "" and await p.espo_values() == {"a@x.de"}
    assert len(await p.notices("conflict")) == 1
    await p.settled()


@row(42)
async def changed_in_espocrm_removed_in_advoware(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True), email("b@x.de")])
    await p.set_sets(emails=[email("a@x.de", True), email("b2@x.de")])
    p.remove_entry(p.entry_of("b@x.de").id)
    await p.sync()
    assert set(p.live()) == {"a@x.de", "b2@x.de"} and await p.espo_values() == {"a@x.de", "b2@x.de"}
    assert len(await p.notices("conflict")) == 1
    await p.settled()


@row(43)
async def two_online_entries_in_advoware(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True), email("b@x.de")])
    p.edit_entry(p.entry_of("b@x.de").id, online=True)
    await p.sync()
    assert p.writes() == 0 and [i["primary"] for i in await p.emails()] == [True, False]
    await p.settled()


@row(44)
async def database_lost_both_in_sync(env: Env) -> None:
    p = await Party.synced(env, emails=[email("a@x.de", True)], phones=[phone("+49 1", "Mobile", True)])
    rows = await p.state_rows()
    await env.db.delete_snapshot(p.pid)
    await p.sync()
    assert p.advo_writes() == {} and [r["id"] for r in await p.state_rows()] == [r["id"] for r in rows]
    assert len(p.entries()) == 2
    await p.settled()


@row(45)
async def advoware_change_without_party_rowid_change(env: Env) -> None:
    p = await Party.synced(env, phones=[phone("+49 1", "Office", True)])
    row_id = env.advo_parties()[p.betnr].rowId
    p.edit_entry(p.entry_of("+49 1").id, tlf="+49 45")
    assert env.advo_parties()[p.betnr].rowId == row_id
    await p.sync()
    assert [i["phoneNumber"] for i in await p.phones()] == ["+49 45"]
    await p.settled()


@row(46)
async def spaces_are_a_slot_and_a_bad_marker_is_none(env: Env) -> None:
    p = await Party.unsynced(env)
    spaces = p.add_entry("   ", 4, "[ESPOCRM-SLOT:4]")
    odd = p.add_entry("+49 46", 1, "[ESPOCRM:!!kaputt:1] Notiz")
    await p.set_sets(emails=[email("a@x.de", True)])
    await p.sync()
    assert p.entry(spaces).tlf == "a@x.de"  # the whitespace entry was a slot: reused
    assert [i["phoneNumber"] for i in await p.phones()] == ["+49 46"]
    assert p.entry(odd).bemerkung == "[ESPOCRM:!!kaputt:1] Notiz"  # unmarked: its text is the user's
    await p.settled()


@pytest.mark.parametrize("n", sorted(ROWS), ids=[f"row{n:02d}-{ROWS[n].__name__}" for n in sorted(ROWS)])
async def test_scenario(env: Env, n: int) -> None:
    await ROWS[n](env)


def test_every_row_is_there() -> None:
    assert sorted(ROWS) == list(range(1, 47))


@pytest.fixture
def sync_settings():  # type: ignore[no-untyped-def]
    from tests.beteiligte_service.conftest import make_settings

    return make_settings(retry=RetryPolicy(schedule_minutes=(1, 1, 1, 1, 1)))
