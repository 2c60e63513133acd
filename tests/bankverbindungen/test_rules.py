"""The pure account rules (SYNC_RULES §4), run through the core's real runner with an in-memory
executor: normalisation, validation, matching, manual actions, the party sync's cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.bankverbindungen.fields import espo_values, marker_of, post_body
from services.bankverbindungen.from_advoware import BankInputs, needs_espo, plan_bank
from services.bankverbindungen.rules import BIC_WARNING, Facts, decide_linked, decide_unlinked
from services.bankverbindungen.state import Row, changes, item
from services.bankverbindungen.validate import bic_mismatch, problem
from services.sync.actions import Call, Notify, Patch
from services.sync.policy import RetryPolicy
from services.sync.runner import run

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
FACTS = Facts(NOW, RetryPolicy(), "admin")
IBAN = "DE89370400440532013000"  # Commerzbank, COBADEFFXXX
OTHER = "DE02120300000000202051"  # DKB, BYLADEM1001


def account(**kw: Any) -> dict[str, Any]:
    return {"id": "acc1", "beteiligteId": "p1", "iban": IBAN, "bic": "COBADEFFXXX", "bankname": "Commerzbank",
            "kontoinhaber": "Max Mustermann", "syncStatus": "pending_sync", "assignedUserId": "u1", **kw}  # fmt: skip


def advo(konto: int = 7, **kw: Any) -> dict[str, Any]:
    return {"id": konto, "rowId": "x", "iban": IBAN, "bic": "COBADEFFXXX", "bank": "Commerzbank",
            "kontoinhaber": "Max Mustermann", "bemerkung": None, **kw}  # fmt: skip


class Memory:
    """The runner's executor in memory: records calls and patches, answers like the systems."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.patches: list[tuple[str, str, dict[str, Any]]] = []

    async def call(self, call: Call) -> Any:
        self.calls.append(call)
        if call.op == "create_account":
            return {"id": 99, **(call.body or {})}
        if call.op == "create_espo_account":
            return {"id": "new1", **(call.body or {})}
        return {}

    async def patch(self, entity: str, record_id: str, fields: Any) -> Any:
        self.patches.append((entity, record_id, dict(fields)))
        return {"id": record_id, "modifiedAt": "2026-12-02 08:00:00"}


def test_normalised_compact_upper_case() -> None:
    values = espo_values(account(iban=" de89 3704 0044 0532 0130 00 ", bic="cobadeff xxx", bankname=" "))
    assert values == {"iban": IBAN, "bic": "COBADEFFXXX", "bank": None, "kontoinhaber": "Max Mustermann"}
    assert post_body("acc1", values)["bemerkung"] == "EspoCRM-ID: acc1"
    assert marker_of({"bemerkung": "Gehalt EspoCRM-ID: acc1"}) == "acc1"


@pytest.mark.parametrize(
    ("changes_", "party", "others", "needle"),
    [
        ({"iban": ""}, "p1", [], "IBAN fehlt"),
        ({"iban": None}, "p1", [], "IBAN fehlt"),
        ({"iban": "DE89370400440532013001"}, "p1", [], "IBAN ungültig"),
        ({"iban": "XX89370400440532013000"}, "p1", [], "IBAN ungültig"),
        ({"bic": "COBA"}, "p1", [], "BIC ungültig"),
        ({}, None, [], "ohne Beteiligten"),
        ({"iban": "de89 3704 0044 0532 0130 00"}, "p1", [IBAN], "bereits"),
    ],
)
def test_invalid_accounts(changes_: dict[str, Any], party: Any, others: list[str], needle: str) -> None:
    message = problem(espo_values(account(**changes_)), party, others)
    assert message is not None and needle in message
    assert IBAN not in message  # values never in the message


def test_valid_and_bic_warning() -> None:
    assert problem(espo_values(account()), "p1", [OTHER]) is None
    assert problem(espo_values(account(bic=None)), "p1", []) is None
    assert not bic_mismatch(espo_values(account()))
    assert bic_mismatch(espo_values(account(bic="BYLADEM1001")))  # a valid BIC of another bank


async def test_create_posts_with_marker_then_one_espocrm_write() -> None:
    decision = decide_unlinked(account(), 104860, [], [], FACTS)
    assert decision.variant == "create"
    memory = Memory()
    applied = await run(decision.actions, memory)
    (post,) = memory.calls
    assert post.target == 104860 and post.body == {**post_body("acc1", espo_values(account()))}
    ((_, rid, fields),) = memory.patches  # ONE EspoCRM write: link, clean, stamp
    assert rid == "acc1" and fields["advowareKontoId"] == 99 and fields["syncStatus"] == "clean"
    keep, drop = changes(applied.advanced)
    assert keep["acc1"].konto_id == 99 and keep["acc1"].fields == espo_values(account()) and not drop


async def test_lost_post_found_again_by_marker_or_iban_never_twice() -> None:
    ours = advo(
        5, bemerkung="EspoCRM-ID: acc1", iban="DE89 3704 0044 0532 0130 00"
    )  # as a desktop user spells it
    for found in ([ours], [advo(5)]):
        decision = decide_unlinked(account(), 1, found, [], FACTS)
        assert decision.variant == "link"
        memory = Memory()
        await run(decision.actions, memory)
        assert memory.calls == [] and memory.patches[0][2]["advowareKontoId"] == 5
    # an Advoware account another EspoCRM account holds (or held: a tombstone) is not taken
    other = Row("acc2", "p1", 1, 5, espo_values(account()), tombstone=True)
    assert decide_unlinked(account(), 1, [advo(5)], [other], FACTS).variant == "create"


async def test_link_with_other_values_is_a_manual_action() -> None:
    decision = decide_unlinked(account(bankname="Coba"), 1, [advo(5)], [], FACTS)
    applied = await run(decision.actions, Memory())
    (fields,) = applied.written.values()
    assert fields["syncStatus"] == "manual_action" and "Commerzbank" in fields["syncErrorMessage"]
    assert [n.kind for n in applied.notices] == ["manual_action"]
    assert changes(applied.advanced)[0]["acc1"].manual


async def test_change_in_espocrm_keeps_the_value_and_notifies_once_per_value() -> None:
    row = Row("acc1", "p1", 1, 7, espo_values(account()))
    changed = account(iban=OTHER, bic="BYLADEM1001", syncStatus="dirty", advowareKontoId=7)
    decision = decide_linked(changed, row, FACTS)
    memory = Memory()
    applied = await run(decision.actions, memory)
    assert memory.calls == []  # nothing to Advoware, no second account
    ((_, _, fields),) = memory.patches
    assert fields["syncStatus"] == "manual_action" and "iban" not in fields  # EspoCRM's value kept
    assert "von Hand" in fields["syncErrorMessage"] and OTHER in fields["syncErrorMessage"]
    (notice,) = applied.notices
    assert OTHER not in notice.message and notice.key.startswith("bank_changed:acc1:")
    marked = changes(applied.advanced)[0]["acc1"]
    assert marked.manual and marked.wanted == espo_values(changed) and marked.fields == row.fields
    # the same value again: nothing; another value: a new notice
    again = decide_linked({**changed, "syncStatus": "manual_action"}, marked, FACTS)
    assert not again.writes
    third = decide_linked({**changed, "syncStatus": "manual_action", "kontoinhaber": "M. M."}, marked, FACTS)
    assert [a.key for a in third.actions if isinstance(a, Notify)] != [notice.key]
    # the user reverts: clean, the mark gone
    back = decide_linked({**account(), "syncStatus": "manual_action", "advowareKontoId": 7}, marked, FACTS)
    applied = await run(back.actions, Memory())
    assert not changes(applied.advanced)[0]["acc1"].manual


async def test_istaktiv_and_istStandard_are_neither_sent_nor_notified() -> None:
    row = Row("acc1", "p1", 1, 7, espo_values(account()))
    record = account(istAktiv=False, istStandard=True, syncStatus="clean", advowareKontoId=7,
                     advowareLastSync="2026-12-02 07:59:00")  # fmt: skip
    assert decide_linked(record, row, Facts(NOW, RetryPolicy(), "admin", webhook=True)).actions == ()


def test_bic_mismatch_is_a_warning_only() -> None:
    decision = decide_unlinked(account(bic="BYLADEM1001"), 1, [], [], FACTS)
    assert decision.variant == "create" and decision.warnings == (BIC_WARNING,)


# -- the party sync's side ---------------------------------------------------------------------


def espo_account(rid: str, **kw: Any) -> dict[str, Any]:
    return account(**{"id": rid, "syncStatus": "clean", **kw})


async def test_new_in_advoware_created_clean_and_linked_in_one_request() -> None:
    assert needs_espo([advo(7)], [])
    plan = plan_bank("p1", 1, [advo(7)], BankInputs((), ()), FACTS)
    memory = Memory()
    applied = await run(plan.actions, memory)
    (create,) = memory.calls
    assert create.op == "create_espo_account" and memory.patches == []
    assert create.body["advowareKontoId"] == 7 and create.body["syncStatus"] == "clean"
    assert create.body["beteiligteId"] == "p1" and create.body["iban"] == IBAN
    assert changes(applied.advanced)[0]["new1"].konto_id == 7


async def test_unknown_advoware_account_matched_by_id_marker_then_iban() -> None:
    cases = [
        (espo_account("e1", advowareKontoId=7), advo(7)),
        (espo_account("e1", iban=OTHER), advo(7, bemerkung="EspoCRM-ID: e1", iban=OTHER)),
        (espo_account("e1", iban="de89370400440532013000"), advo(7)),
    ]
    for espo, account_ in cases:
        plan = plan_bank("p1", 1, [account_], BankInputs((), (espo,)), FACTS)
        memory = Memory()
        applied = await run(plan.actions, memory)
        assert memory.calls == [] and memory.patches[0][1] == "e1"
        assert memory.patches[0][2]["advowareKontoId"] == 7 and memory.patches[0][2]["syncStatus"] == "clean"
        assert changes(applied.advanced)[0]["e1"].konto_id == 7


async def test_known_accounts_tombstone_manual_change_and_gone() -> None:
    values = espo_values(account())
    tomb = Row("t1", "p1", 1, 1, values, tombstone=True)
    manual = Row("m1", "p1", 1, 2, values, wanted={**values, "bank": "Neu"}, manual=True)
    plain = Row("c1", "p1", 1, 3, values)
    gone = Row("g1", "p1", 1, 4, values)
    accounts = [advo(1), advo(2), advo(3, bank="Coba AG")]
    assert not needs_espo([advo(1), advo(2), advo(3), advo(4)], [tomb, manual, plain, gone])
    espo = (
        espo_account("m1", bankname="Neu", syncStatus="manual_action"),
        espo_account("c1"),
        espo_account("g1"),
    )
    plan = plan_bank("p1", 1, accounts, BankInputs((tomb, manual, plain, gone), espo), FACTS)
    memory = Memory()
    applied = await run(plan.actions, memory)
    assert [p[1] for p in memory.patches] == ["c1"] and memory.patches[0][2]["bankname"] == "Coba AG"
    assert [(c.op, c.target) for c in memory.calls] == [("delete_espo_account", "g1")]
    keep, drop = changes(applied.advanced)
    assert keep["c1"].fields["bank"] == "Coba AG" and drop == ["g1"]
    # the user made the change by hand in Advoware: the mark clears
    plan = plan_bank("p1", 1, [advo(2, bank="Neu")], BankInputs((manual,), espo), FACTS)
    applied = await run(plan.actions, Memory())
    assert not changes(applied.advanced)[0]["m1"].manual and plan.unblock == ("m1",)
    # a tombstone whose Advoware account is gone is dropped, without a write
    plan = plan_bank("p1", 1, [], BankInputs((tomb,), ()), FACTS)
    assert plan.actions == () and plan.agreed == {item("t1"): None}


async def test_gone_from_advoware_but_changed_in_espocrm_is_sent_again() -> None:
    row = Row("g1", "p1", 1, 4, espo_values(account()))
    plan = plan_bank("p1", 1, [], BankInputs((row,), (espo_account("g1", bankname="Neu"),)), FACTS)
    memory = Memory()
    await run(plan.actions, memory)
    assert memory.calls == [] and memory.patches[0][2]["syncStatus"] == "pending_sync"
    assert memory.patches[0][2]["advowareKontoId"] is None
