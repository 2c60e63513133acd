"""EspoCrmClient against the EspoCRM simulator over real HTTP: auth (key and HMAC), records,
paging, notifications, webhooks, retries and call counting."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from services.clients import (
    Conflict,
    EspoCrmClient,
    Forbidden,
    NotFound,
    OutcomeUnknown,
    SessionHolder,
    Unauthorized,
    count_calls,
)
from tests.clients.conftest import FAST_RETRY, count, set_faults
from tests.fixtures.espocrm_sim import EspoSimHandle, start_espocrm_sim

LIST = "/api/v1/{entity}"
ONE = "/api/v1/{entity}/{id}"


@pytest.fixture
async def espocrm_sim() -> AsyncIterator[EspoSimHandle]:
    async with start_espocrm_sim() as sim:
        yield sim


def make_client(sim: EspoSimHandle, holder: SessionHolder, **overrides: object) -> EspoCrmClient:
    kwargs: dict[str, object] = {
        "base_url": sim.url,
        "api_key": SecretStr(sim.config.api_key),
        "session": holder,
        "retry": FAST_RETRY,
        "max_requests_per_second": 0,
        "timeout_s": 5.0,
    }
    return EspoCrmClient(**{**kwargs, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def client(espocrm_sim: EspoSimHandle, holder: SessionHolder) -> EspoCrmClient:
    return make_client(espocrm_sim, holder)


async def test_create_get_partial_update_delete(client: EspoCrmClient) -> None:
    created = await client.create("CBeteiligte", {"firstName": "Max", "lastName": "Mustermann"})
    assert created["id"] and created["syncStatus"] == "pending_sync"  # E5
    await client.update("CBeteiligte", created["id"], {"betnr": 104860})
    fetched = await client.get("CBeteiligte", created["id"])
    assert fetched["betnr"] == 104860 and fetched["lastName"] == "Mustermann"  # E11: partial
    await client.delete("CBeteiligte", created["id"])
    with pytest.raises(NotFound):
        await client.get("CBeteiligte", created["id"])


@pytest.mark.parametrize("where_style", ["searchParams", "nested"])
async def test_list_filters_with_where(
    espocrm_sim: EspoSimHandle, holder: SessionHolder, where_style: str
) -> None:
    client = make_client(espocrm_sim, holder, where_style=where_style)
    await espocrm_sim.seed(parties=5, status="clean", with_addresses=False, with_bank_accounts=False)
    await espocrm_sim.seed(parties=3, seed=2, status="dirty", with_addresses=False, with_bank_accounts=False)
    where = [{"type": "in", "attribute": "syncStatus", "value": ["dirty", "failed"]}]
    page = await client.list("CBeteiligte", where=where, select=["id", "syncStatus"], order_by="id")
    assert page["total"] == 3 and {r["syncStatus"] for r in page["list"]} == {"dirty"}
    ids = [r["id"] for r in page["list"]]
    assert ids == sorted(ids)


async def test_iter_all_pages_through_everything(client: EspoCrmClient, espocrm_sim: EspoSimHandle) -> None:
    await espocrm_sim.seed(parties=450, with_addresses=False, with_bank_accounts=False)
    with count_calls() as calls:
        ids = [r["id"] async for r in client.iter_all("CBeteiligte", select=["id"])]
    assert len(ids) == len(set(ids)) == 450
    assert calls.count(system="espocrm", kind="read") == 3
    assert count(espocrm_sim.calls(), "GET", LIST, 200) == 3


async def test_iter_all_stops_on_exact_multiple(client: EspoCrmClient, espocrm_sim: EspoSimHandle) -> None:
    await espocrm_sim.seed(parties=400, with_addresses=False, with_bank_accounts=False)
    assert len([r async for r in client.iter_all("CBeteiligte", select=["id"])]) == 400
    assert count(espocrm_sim.calls(), "GET", LIST) == 2


async def test_max_size_above_200_is_refused_before_sending(
    client: EspoCrmClient, espocrm_sim: EspoSimHandle
) -> None:
    with pytest.raises(ValueError):
        await client.list("CBeteiligte", max_size=201)
    assert count(espocrm_sim.calls()) == 0


async def test_hmac_auth_is_accepted(espocrm_sim: EspoSimHandle, holder: SessionHolder) -> None:
    client = make_client(espocrm_sim, holder, secret_key=SecretStr(espocrm_sim.config.secret_key))
    created = await client.create("CBeteiligte", {"firstName": "Hmac", "lastName": "Test"})
    assert (await client.get("CBeteiligte", created["id"]))["lastName"] == "Test"
    assert (await client.list("CBeteiligte", max_size=5))["total"] == 1
    wrong = make_client(espocrm_sim, holder, secret_key=SecretStr("wrong"))
    with pytest.raises(Unauthorized):
        await wrong.get("CBeteiligte", created["id"])
    assert count(espocrm_sim.calls(), status=401) == 1  # no retry, no refresh


async def test_bad_api_key_is_unauthorized(espocrm_sim: EspoSimHandle, holder: SessionHolder) -> None:
    client = make_client(espocrm_sim, holder, api_key=SecretStr("nope"))
    with pytest.raises(Unauthorized):
        await client.list("CBeteiligte")


async def test_notify_is_not_a_data_call(client: EspoCrmClient, espocrm_sim: EspoSimHandle) -> None:
    with count_calls() as calls:
        note = await client.notify("user-anna", "Konflikt", "CBeteiligte", "abc")
    assert note["userId"] == "user-anna" and note["relatedId"] == "abc"
    assert calls.count() == 0 and calls.count(include_non_data=True) == 1
    stored = await client.list(
        "Notification", where=[{"type": "equals", "attribute": "userId", "value": "user-anna"}]
    )
    assert stored["total"] == 1


async def test_webhook_subscribe_and_delete(client: EspoCrmClient) -> None:
    hook = await client.create_webhook(
        "CBeteiligte.update", "http://127.0.0.1:9/vmh/webhook/beteiligte/update"
    )
    assert hook["id"] and hook["secretKey"]
    await client.delete_webhook(hook["id"])
    with pytest.raises(NotFound):
        await client.delete_webhook(hook["id"])


async def test_put_retried_on_503_post_not(client: EspoCrmClient, espocrm_sim: EspoSimHandle) -> None:
    created = await client.create("CBeteiligte", {"firstName": "A", "lastName": "B"})
    await set_faults(espocrm_sim.root, {"method": "PUT", "route": ONE, "status": 503, "count": 2})
    await client.update("CBeteiligte", created["id"], {"syncStatus": "clean"})
    assert count(espocrm_sim.calls(), "PUT", ONE) == 3
    await set_faults(espocrm_sim.root, {"method": "POST", "route": LIST, "status": 503, "count": 1})
    with pytest.raises(OutcomeUnknown):
        await client.create("CBeteiligte", {"firstName": "C", "lastName": "D"})
    assert count(espocrm_sim.calls(), "POST", LIST) == 2  # the first create and this one


@pytest.mark.parametrize(("status", "error"), [(403, Forbidden), (409, Conflict)])
async def test_no_retry_on_4xx(
    client: EspoCrmClient, espocrm_sim: EspoSimHandle, status: int, error: type[Exception]
) -> None:
    await set_faults(espocrm_sim.root, {"method": "GET", "route": LIST, "status": status, "count": 3})
    with pytest.raises(error):
        await client.list("CBeteiligte")
    assert count(espocrm_sim.calls(), "GET", LIST) == 1


async def test_call_log_counts_reads_and_writes(client: EspoCrmClient) -> None:
    with count_calls() as calls:
        created = await client.create("CBeteiligte", {"firstName": "A", "lastName": "B"})
        await client.get("CBeteiligte", created["id"])
        await client.update("CBeteiligte", created["id"], {"syncStatus": "clean"})
    assert calls.count(system="espocrm", kind="read") == 1
    assert calls.count(system="espocrm", kind="write") == 2
    assert {r.route for r in calls.records} == {"CBeteiligte", "CBeteiligte/{id}"}


async def test_no_key_or_personal_data_in_logs(
    espocrm_sim: EspoSimHandle, holder: SessionHolder, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    keyed = make_client(espocrm_sim, holder)
    signed = make_client(espocrm_sim, holder, secret_key=SecretStr(espocrm_sim.config.secret_key))
    created = await keyed.create("CBeteiligte", {"firstName": "Geheimvorname", "lastName": "Geheimname"})
    await set_faults(
        espocrm_sim.root,
        {"method": "GET", "route": ONE, "status": 503, "count": 1},
        {"method": "POST", "route": LIST, "status": 500, "count": 1, "after_write": True},
    )
    await signed.get("CBeteiligte", created["id"])
    with pytest.raises(OutcomeUnknown) as info:
        await signed.create("CBeteiligte", {"firstName": "Zweiter", "lastName": "Geheimname"})
    text = caplog.text + str(info.value) + repr(info.value)
    assert "espocrm GET CBeteiligte/{id} -> 503" in caplog.text
    for secret in (espocrm_sim.config.api_key, espocrm_sim.config.secret_key, "Geheim", created["id"]):
        assert secret not in text
