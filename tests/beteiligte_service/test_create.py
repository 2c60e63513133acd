"""Create path: person and company, link written back in one EspoCRM write, budgets."""

from __future__ import annotations

from services.clients import count_calls
from tests.beteiligte_service.conftest import Env


async def test_create_person_links_and_stays_within_budget(env: Env) -> None:
    pid = await env.new_person()
    env.reset_counters()
    with count_calls() as calls:
        outcome = await env.handle(pid, "create")
    used = env.data_calls()
    assert outcome.status == "created"
    rec = await env.record(pid)
    assert rec["syncStatus"] == "clean" and rec["betnr"] and rec["advowareRowId"]
    assert rec["advowareLastSync"] and len(rec["advowareLastSync"]) == 19
    party = env.advo_parties()[rec["betnr"]]
    assert party.values["name"] == "Mustermann" and party.values["vorname"] == "Max"
    assert party.values["geburtsdatum"].startswith("1980-05-17")
    assert party.rowId == rec["advowareRowId"]
    # EspoCRM GET, its addresses, Advoware search, Advoware POST, EspoCRM PUT — simulators and
    # client log agree
    assert used == {"advoware_read": 1, "advoware_write": 1, "espocrm_read": 2, "espocrm_write": 1}
    assert calls.count() == 5 and outcome.calls == {
        "espocrm_read": 2,
        "advoware_read": 1,
        "advoware_write": 1,
        "espocrm_write": 1,
    }
    assert await env.db.get_intent(pid) is None
    state = await env.db.get_sync_state(pid)
    assert (
        state is not None and state.betnr == rec["betnr"] and state.snapshot["rowId"] == rec["advowareRowId"]
    )


async def test_create_company(env: Env) -> None:
    cid = await env.new_company()
    env.reset_counters()
    outcome = await env.handle(cid, "create")
    assert sum(env.data_calls().values()) == 5  # the addresses and the search before the POST included
    assert outcome.status == "created"
    rec = await env.record(cid)
    party = env.advo_parties()[rec["betnr"]]
    assert party.values["name"] == "Beispiel Bau GmbH" and not party.values.get("vorname")
    assert party.values["handelsRegisterNummer"] == "HRB 4711"


async def test_create_without_row_id_in_post_answer_costs_one_get(env: Env) -> None:
    pid = await env.new_person()
    await env.faults(
        "advoware",
        {"rules": [{"method": "POST", "route": "*/Beteiligte", "status": None, "drop_field": "rowId"}]},
    )
    env.reset_counters()
    outcome = await env.handle(pid, "create")
    used = env.data_calls()
    assert outcome.status == "created"
    rec = await env.record(pid)
    assert rec["advowareRowId"] == env.advo_parties()[rec["betnr"]].rowId
    assert used == {"advoware_read": 2, "advoware_write": 1, "espocrm_read": 2, "espocrm_write": 1}


async def test_second_run_after_create_writes_nothing(env: Env) -> None:
    pid = await env.new_person()
    await env.handle(pid, "create")
    env.reset_counters()
    outcome = await env.handle(pid, "update")
    assert outcome.status == "noop"
    assert env.data_calls() == {
        "advoware_read": 1,
        "advoware_write": 0,
        "espocrm_read": 2,
        "espocrm_write": 0,
    }


async def test_audit_entry_of_create_masks_values(env: Env) -> None:
    pid = await env.new_person()
    await env.handle(pid, "create")
    entries = await env.service.audit(pid)
    assert len(entries) == 1
    e = entries[0]
    assert (e.action, e.result, e.trace_id) == ("create", "created", "t-" + pid)
    assert e.decision["variant"] == "create" and "name" in e.decision["to_advoware"]
    assert e.decision["changes"]["advoware"]["name"]["after"] == "***"
    assert "Mustermann" not in str(e.decision) and len(e.api_calls) >= 3
