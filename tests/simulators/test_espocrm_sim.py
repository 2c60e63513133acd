"""The EspoCRM simulator against the contract of EXTERNAL_SYSTEMS §2: auth, records, hooks,
lists, outgoing webhooks, seed and snapshot. One test per quirk E1–E11."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from simulators.espocrm import WebhookSubscriptionConfig
from tests.fixtures.espocrm_sim import (  # noqa: E402
    EspoSimHandle,
    WebhookReceiver,
    start_espocrm_sim,
    start_webhook_receiver,
)

PERSON = {"firstName": "Jürgen", "lastName": "Müller", "anrede": "Herr"}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def nested_query(where: list[Any], prefix: str = "where") -> list[tuple[str, str]]:
    """PHP-style encoding of a where list, written independently of the simulator's parser."""
    pairs: list[tuple[str, str]] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}[{k}]")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")
        else:
            pairs.append((key, str(value)))

    walk(where, prefix)
    return pairs


def verify_signatures(raw: bytes, headers: dict[str, str], webhook_id: str, secret: str) -> None:
    new_id, _, hex_digest = base64.b64decode(headers["Signature"]).decode().partition(":")
    assert new_id == webhook_id
    assert hex_digest == hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    old_id, _, raw_digest = base64.b64decode(headers["X-Signature"]).partition(b":")
    assert old_id.decode() == webhook_id
    assert raw_digest == hmac.new(secret.encode(), raw, hashlib.sha256).digest()


async def subscribe_all(sim: EspoSimHandle, receiver: WebhookReceiver, entity: str = "CBeteiligte") -> dict:
    hooks = {}
    for action in ("create", "update", "delete"):
        hooks[action] = await sim.subscribe(f"{entity}.{action}", receiver.url_for(f"/{action}"))
    return hooks


# --- auth -----------------------------------------------------------------------------------


async def test_missing_or_bad_api_key_is_401(espocrm_sim: EspoSimHandle) -> None:
    async with espocrm_sim.session.get(f"{espocrm_sim.url}/CBeteiligte") as resp:
        assert resp.status == 401
    status, _ = await espocrm_sim.request("GET", "CBeteiligte", headers={"X-Api-Key": "wrong"})
    assert status == 401
    assert espocrm_sim.calls()[("GET", "/api/v1/{entity}", 401)] == 2


async def test_app_user_names_the_caller(espocrm_sim: EspoSimHandle) -> None:
    status, body = await espocrm_sim.request("GET", "App/user")
    assert status == 200 and body["user"]["id"] == "service-user" and body["user"]["type"] == "api"
    assert (await espocrm_sim.request("GET", "App/user", user="user-anna"))[1]["user"]["id"] == "user-anna"


async def test_hmac_auth(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    uri = f"CBeteiligte/{record['id']}"
    cfg = espocrm_sim.config

    def header(secret: str, method: str = "GET") -> dict[str, str]:
        digest = hmac.new(secret.encode(), f"{method} /{uri}".encode(), hashlib.sha256).digest()
        return {"X-Hmac-Authorization": base64.b64encode(cfg.api_key.encode() + b":" + digest).decode()}

    for headers, expected in (
        (header(cfg.secret_key), 200),
        (header("wrong"), 401),
        (header(cfg.secret_key, "PUT"), 401),
    ):
        async with espocrm_sim.session.get(f"{espocrm_sim.url}/{uri}", headers=headers) as resp:
            assert resp.status == expected


# --- records (E6, E7, E9, E10, E11) ---------------------------------------------------------


async def test_create_read_delete_and_404(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    assert len(record["id"]) == 17 and record["name"] == "Jürgen Müller"
    assert (await espocrm_sim.get("CBeteiligte", record["id"]))["lastName"] == "Müller"
    await espocrm_sim.delete_as_user("CBeteiligte", record["id"])
    for method in ("GET", "PUT", "DELETE"):
        status, _ = await espocrm_sim.request(method, f"CBeteiligte/{record['id']}", json_body={})
        assert status == 404
    assert (await espocrm_sim.request("GET", "NoSuchEntity"))[0] == 404
    counts = espocrm_sim.calls()
    assert (
        counts[("GET", "/api/v1/{entity}/{id}", 404)] == 1 and counts[("POST", "/api/v1/{entity}", 200)] == 1
    )


async def test_E6_modified_at_moves_on_every_save(espocrm_sim: EspoSimHandle) -> None:
    moment = [datetime(2026, 2, 7, 14, 30, tzinfo=UTC)]
    espocrm_sim.config.clock = lambda: moment[0]
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    assert record["createdAt"] == record["modifiedAt"] == "2026-02-07 14:30:00"
    moment[0] += timedelta(seconds=5)
    # The service's own bookkeeping write (API user) moves modifiedAt too.
    after = await espocrm_sim.update("CBeteiligte", record["id"], {"syncStatus": "clean"})
    assert after["modifiedAt"] == "2026-02-07 14:30:05" and after["createdAt"] == "2026-02-07 14:30:00"
    moment[0] += timedelta(seconds=5)
    after = await espocrm_sim.update("CBeteiligte", record["id"], {})
    assert after["modifiedAt"] == "2026-02-07 14:30:10"


async def test_E7_first_and_last_name_returned_when_firmenname_set(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create("CBeteiligte", {**PERSON, "firmenname": "Grünbau GmbH"})
    got = await espocrm_sim.get("CBeteiligte", record["id"])
    assert got["firstName"] == "Jürgen" and got["lastName"] == "Müller"
    assert got["name"] == "Grünbau GmbH"


async def test_E9_null_for_some_fields_is_a_validation_error(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    for field in ("syncStatus", "name"):
        status, body = await espocrm_sim.request(
            "PUT", f"CBeteiligte/{record['id']}", json_body={field: None}
        )
        assert status == 400
        assert body["messageTranslation"]["data"] == {"field": field, "type": "required"}
    status, body = await espocrm_sim.request("PUT", f"CBeteiligte/{record['id']}", json_body={"titel": None})
    assert status == 200 and body["titel"] is None
    status, _ = await espocrm_sim.request(
        "PUT", f"CBeteiligte/{record['id']}", json_body={"syncStatus": "bogus"}
    )
    assert status == 400
    assert (await espocrm_sim.get("CBeteiligte", record["id"]))["syncStatus"] == "pending_sync"


async def test_E10_datetimes_utc_without_zone_dates_plain(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create(
        "CBeteiligte", {**PERSON, "dateOfBirth": "2001-01-05", "advowareLastSync": "2026-02-01 10:00"}
    )
    assert DATETIME.match(record["createdAt"]) and DATETIME.match(record["modifiedAt"])
    assert record["dateOfBirth"] == "2001-01-05" and record["advowareLastSync"] == "2026-02-01 10:00:00"
    bad = [{"advowareLastSync": "2026-02-01T10:00:00+01:00"}, {"dateOfBirth": "2001-01-05T00:00:00"}]
    for body in bad:
        assert (await espocrm_sim.request("PUT", f"CBeteiligte/{record['id']}", json_body=body))[0] == 400


async def test_E11_put_and_patch_are_partial_and_return_the_full_record(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create("CBeteiligte", {**PERSON, "titel": "Dr.", "betnr": 104860})
    after = await espocrm_sim.update("CBeteiligte", record["id"], {"titel": "Prof."})
    assert after["firstName"] == "Jürgen" and after["betnr"] == 104860 and after["titel"] == "Prof."
    status, patched = await espocrm_sim.request(
        "PATCH", f"CBeteiligte/{record['id']}", json_body={"anrede": "Frau"}
    )
    assert status == 200 and patched["titel"] == "Prof." and patched["anrede"] == "Frau"
    assert set(patched) == set(record)


async def test_email_and_phone_sets_derive_primary(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create(
        "CBeteiligte",
        {
            **PERSON,
            "emailAddressData": [{"emailAddress": "a@example.de"}, {"emailAddress": "B@example.de"}],
            "phoneNumberData": [
                {"phoneNumber": "+49 30 1", "type": "Office"},
                {"phoneNumber": "+49 170 2", "type": "Mobile", "primary": True},
            ],
        },
    )
    assert record["emailAddress"] == "a@example.de"
    assert [e["primary"] for e in record["emailAddressData"]] == [True, False]
    assert record["emailAddressData"][1]["lower"] == "b@example.de"
    assert record["phoneNumber"] == "+49 170 2"
    # Writing the array replaces the whole set.
    after = await espocrm_sim.update(
        "CBeteiligte", record["id"], {"emailAddressData": [{"emailAddress": "c@example.de"}]}
    )
    assert [e["emailAddress"] for e in after["emailAddressData"]] == ["c@example.de"]
    after = await espocrm_sim.update("CBeteiligte", record["id"], {"phoneNumber": "+49 40 3"})
    assert after["phoneNumber"] == "+49 40 3" and len(after["phoneNumberData"]) == 2
    status, _ = await espocrm_sim.request(
        "PUT", f"CBeteiligte/{record['id']}", json_body={"emailAddressData": [{"emailAddress": "no-at"}]}
    )
    assert status == 400


async def test_iban_validated_on_bank_accounts(espocrm_sim: EspoSimHandle) -> None:
    party = await espocrm_sim.create("CBeteiligte", PERSON)
    good = {"iban": "DE89370400440532013000", "bankname": "Testbank", "beteiligteId": party["id"]}
    account = await espocrm_sim.create("CBankverbindungen", good)
    assert account["syncStatus"] == "pending_sync" and account["name"]
    status, body = await espocrm_sim.request(
        "POST", "CBankverbindungen", json_body={**good, "iban": "DE89370400440532013001"}
    )
    assert status == 400 and body["messageTranslation"]["label"] == "invalidIbanChecksum"
    # SYNC_RULES §4 statuses, and the party's accounts through its link
    assert (await espocrm_sim.update("CBankverbindungen", account["id"], {"syncStatus": "manual_action"}))[
        "syncStatus"
    ] == "manual_action"
    linked = await espocrm_sim.list(f"CBeteiligte/{party['id']}/bankverbindungen")
    assert [a["id"] for a in linked["list"]] == [account["id"]]
    # Tests store a bad checksum the way an instance without the check would (SYNC_RULES §4).
    espocrm_sim.state.config.validate_iban = False
    stored = await espocrm_sim.update("CBankverbindungen", account["id"], {"iban": "DE89370400440532013001"})
    assert stored["iban"] == "DE89370400440532013001"


# --- hooks (E5) ------------------------------------------------------------------------------


async def test_E5_pending_sync_on_create_and_dirty_on_update_of_clean(espocrm_sim: EspoSimHandle) -> None:
    sim = espocrm_sim
    record = await sim.create_as_user("CBeteiligte", PERSON)
    assert record["syncStatus"] == "pending_sync"
    rid = record["id"]
    assert (await sim.update("CBeteiligte", rid, {"syncStatus": "clean", "betnr": 1}))[
        "syncStatus"
    ] == "clean"
    # A change of a field the hook does not watch keeps the record clean.
    assert (await sim.update_as_user("CBeteiligte", rid, {"description": "x"}))["syncStatus"] == "clean"
    # A save with the same value is no change.
    assert (await sim.update_as_user("CBeteiligte", rid, {"lastName": "Müller"}))["syncStatus"] == "clean"
    assert (await sim.update_as_user("CBeteiligte", rid, {"lastName": "Schröder"}))["syncStatus"] == "dirty"
    # The service writes data and status together: no re-marking (open point 11).
    await sim.update("CBeteiligte", rid, {"syncStatus": "clean"})
    assert (await sim.update("CBeteiligte", rid, {"lastName": "Weiß", "syncStatus": "clean"}))[
        "syncStatus"
    ] == "clean"
    # Without syncStatus even the API user's data write marks it dirty.
    assert (await sim.update("CBeteiligte", rid, {"emailAddressData": [{"emailAddress": "x@example.de"}]}))[
        "syncStatus"
    ] == "dirty"
    # Only clean records turn dirty.
    await sim.update("CBeteiligte", rid, {"syncStatus": "failed"})
    assert (await sim.update_as_user("CBeteiligte", rid, {"firstName": "Till"}))["syncStatus"] == "failed"
    created_clean = await sim.create(
        "CBankverbindungen", {"iban": "DE89370400440532013000", "syncStatus": "clean"}
    )
    assert created_clean["syncStatus"] == "clean"
    dirty = await sim.update_as_user("CBankverbindungen", created_clean["id"], {"bic": "COBADEFFXXX"})
    assert dirty["syncStatus"] == "dirty"


# --- lists (E8, operators, paging) ----------------------------------------------------------


async def test_E8_max_size_over_200_is_403(espocrm_sim: EspoSimHandle) -> None:
    await espocrm_sim.seed(parties=250, with_addresses=False, with_bank_accounts=False)
    status, body = await espocrm_sim.request("GET", "CBeteiligte", params={"maxSize": "201"})
    assert status == 403
    status, body = await espocrm_sim.request(
        "GET", "CBeteiligte", params={"searchParams": json.dumps({"maxSize": 1000})}
    )
    assert status == 403
    body = await espocrm_sim.list("CBeteiligte", {"maxSize": "200"})
    assert body["total"] == 250 and len(body["list"]) == 200
    assert len((await espocrm_sim.list("CBeteiligte"))["list"]) == 200  # default is the cap


@pytest.fixture
async def filter_sim(espocrm_sim: EspoSimHandle) -> EspoSimHandle:
    rows = [
        {"lastName": "A", "syncStatus": "clean", "betnr": 1, "advowareLastSync": "2026-01-01 10:00:00"},
        {"lastName": "B", "syncStatus": "dirty", "betnr": 2, "advowareLastSync": "2026-02-01 10:00:00"},
        {"lastName": "C", "syncStatus": "failed", "betnr": 3},
        {"lastName": "D", "syncStatus": "pending_sync"},
    ]
    for row in rows:
        await espocrm_sim.create("CBeteiligte", row)
    return espocrm_sim


WHERE_CASES = [
    ([{"type": "equals", "attribute": "syncStatus", "value": "dirty"}], "B"),
    ([{"type": "notEquals", "attribute": "syncStatus", "value": "dirty"}], "ACD"),
    ([{"type": "in", "attribute": "syncStatus", "value": ["clean", "failed"]}], "AC"),
    ([{"type": "notIn", "attribute": "syncStatus", "value": ["clean", "failed"]}], "BD"),
    ([{"type": "in", "attribute": "syncStatus", "value": []}], ""),
    ([{"type": "isNull", "attribute": "betnr"}], "D"),
    ([{"type": "isNotNull", "attribute": "betnr"}], "ABC"),
    ([{"type": "before", "attribute": "advowareLastSync", "value": "2026-01-15 00:00:00"}], "A"),
    ([{"type": "after", "attribute": "advowareLastSync", "value": "2026-01-15 00:00:00"}], "B"),
    ([{"type": "lessThan", "attribute": "betnr", "value": 2}], "A"),
    ([{"type": "greaterThan", "attribute": "betnr", "value": 2}], "C"),
    ([{"type": "equals", "attribute": "betnr", "value": 2}], "B"),
    (
        [
            {
                "type": "or",
                "value": [
                    {"type": "equals", "attribute": "syncStatus", "value": "pending_sync"},
                    {
                        "type": "and",
                        "value": [
                            {"type": "equals", "attribute": "syncStatus", "value": "clean"},
                            {
                                "type": "before",
                                "attribute": "advowareLastSync",
                                "value": "2026-01-02 00:00:00",
                            },
                        ],
                    },
                ],
            }
        ],
        "AD",
    ),
    (
        [
            {"type": "isNotNull", "attribute": "betnr"},
            {"type": "notEquals", "attribute": "syncStatus", "value": "clean"},
        ],
        "BC",
    ),
]


@pytest.mark.parametrize("encoding", ["nested", "searchParams"])
@pytest.mark.parametrize(("where", "expected"), WHERE_CASES)
async def test_where_operators(filter_sim: EspoSimHandle, encoding: str, where: list, expected: str) -> None:
    common = {"orderBy": "lastName", "order": "asc", "select": "lastName"}
    if encoding == "nested":
        params: Any = [*nested_query(where), *common.items()]
    else:
        params = {"searchParams": json.dumps({"where": where, **common})}
    body = await filter_sim.list("CBeteiligte", params)
    assert "".join(r["lastName"] for r in body["list"]) == expected
    assert body["total"] == len(expected)


async def test_unknown_where_type_or_attribute_is_400(filter_sim: EspoSimHandle) -> None:
    for item in (
        {"type": "fuzzy", "attribute": "lastName", "value": "x"},
        {"type": "equals", "attribute": "nope"},
    ):
        assert (await filter_sim.request("GET", "CBeteiligte", params=nested_query([item])))[0] == 400


async def test_total_offset_select_order(filter_sim: EspoSimHandle) -> None:
    body = await filter_sim.list(
        "CBeteiligte",
        {"select": "id,syncStatus", "orderBy": "lastName", "order": "desc", "maxSize": "2", "offset": "1"},
    )
    assert body["total"] == 4
    assert [set(r) for r in body["list"]] == [{"id", "syncStatus"}] * 2
    assert [r["syncStatus"] for r in body["list"]] == ["failed", "dirty"]


async def test_paging_by_offset_over_a_changing_set_skips_records(espocrm_sim: EspoSimHandle) -> None:
    """Why the cron collects ids first (SYNC_RULES §1): pages shift under status changes."""
    await espocrm_sim.seed(parties=6, status="dirty", with_addresses=False, with_bank_accounts=False)
    query = {
        "where[0][type]": "equals",
        "where[0][attribute]": "syncStatus",
        "where[0][value]": "dirty",
        "orderBy": "id",
        "maxSize": "2",
    }
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = (await espocrm_sim.list("CBeteiligte", {**query, "offset": str(offset)}))["list"]
        for row in page:
            seen.append(row["id"])
            await espocrm_sim.update("CBeteiligte", row["id"], {"syncStatus": "clean"})
    assert len(seen) == 4  # 6 were dirty; offset paging missed two of them
    remaining = await espocrm_sim.list("CBeteiligte", query)
    assert remaining["total"] == 2


async def test_linked_records_and_notifications_per_user(espocrm_sim: EspoSimHandle) -> None:
    party = await espocrm_sim.create("CBeteiligte", PERSON)
    await espocrm_sim.create(
        "CAdressen",
        {"strasse": "Hauptstraße 1", "plz": "80331", "ort": "München", "beteiligteId": party["id"]},
    )
    linked = await espocrm_sim.list(f"CBeteiligte/{party['id']}/adressen")
    assert linked["total"] == 1 and linked["list"][0]["name"] == "Hauptstraße 1, 80331 München"
    for user in ("user-anna", "user-anna", "1"):
        note = {
            "type": "Message",
            "userId": user,
            "message": "Konflikt …",
            "relatedType": "CBeteiligte",
            "relatedId": party["id"],
        }
        await espocrm_sim.create("Notification", note)
    mine = await espocrm_sim.list(
        "Notification", nested_query([{"type": "equals", "attribute": "userId", "value": "user-anna"}])
    )
    assert mine["total"] == 2 and mine["list"][0]["read"] is False


async def test_seed_10000_is_fast_and_a_list_takes_milliseconds(espocrm_sim: EspoSimHandle) -> None:
    started = time.perf_counter()
    result = await espocrm_sim.seed(parties=10_000, seed=3)
    assert time.perf_counter() - started < 10
    assert result["parties"] == 10_000 and len(set(result["party_ids"])) == 10_000
    where = [{"type": "in", "attribute": "syncStatus", "value": ["pending_sync", "dirty"]}]
    started = time.perf_counter()
    body = await espocrm_sim.list("CBeteiligte", [*nested_query(where), ("orderBy", "id"), ("select", "id")])
    assert time.perf_counter() - started < 0.5
    assert body["total"] == 10_000
    assert (await espocrm_sim.webhooks())["queue"] == []


# --- seed, snapshot, admin ------------------------------------------------------------------


def _iban_ok(iban: str) -> bool:
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


async def test_seed_is_deterministic_realistic_and_silent(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    await subscribe_all(espocrm_sim, webhook_receiver)
    first = await espocrm_sim.seed(parties=50, seed=7, status="clean")
    state = espocrm_sim.state
    async with start_espocrm_sim() as other:
        assert (await other.seed(parties=50, seed=7, status="clean"))["party_ids"] == first["party_ids"]
    parties = list(state.tables["CBeteiligte"].values())
    assert {p["syncStatus"] for p in parties} == {"clean"}
    assert any(p["firmenname"] for p in parties) and any(p["firstName"] for p in parties)
    assert any(re.search("[äöüß]", p["name"]) for p in parties)
    assert len({ph["type"] for p in parties for ph in p["phoneNumberData"]}) >= 3
    entries = [len(p["emailAddressData"]) + len(p["phoneNumberData"]) for p in parties]
    assert min(entries) == 2 and max(entries) == 4  # each with 2–4 entries (the benchmark's mix)
    assert all(p["assignedUserId"] and p["emailAddress"] for p in parties)
    accounts = list(state.tables["CBankverbindungen"].values())
    assert accounts and all(_iban_ok(a["iban"]) for a in accounts)
    assert all(a["beteiligteId"] in state.tables["CBeteiligte"] for a in accounts)
    assert all(a["beteiligteId"] in state.tables["CBeteiligte"] for a in state.tables["CAdressen"].values())
    assert await espocrm_sim.flush_webhooks() == []


async def test_snapshot_saved_and_loaded(tmp_path: Any, webhook_receiver: WebhookReceiver) -> None:
    path = str(tmp_path / "espo.json")
    configured = [("CBeteiligte.delete", webhook_receiver.url_for("/delete"), "s3cret")]
    async with start_espocrm_sim(snapshot_path=path, subscriptions=configured) as sim:
        record = await sim.create("CBeteiligte", PERSON)
        hook = await sim.subscribe("CBeteiligte.update", webhook_receiver.url_for())
        assert (await sim.admin("POST", "snapshot"))["counts"]["CBeteiligte"] == 1
        await sim.update("CBeteiligte", record["id"], {"titel": "Dr."})
    async with start_espocrm_sim(snapshot_path=path, subscriptions=configured) as sim:
        assert (await sim.get("CBeteiligte", record["id"]))["titel"] == "Dr."  # saved on cleanup
        hooks = sim.state.tables["Webhook"]
        assert hook["id"] in hooks and len(hooks) == 2  # the configured one is not duplicated


async def test_reset_as_user_and_configured_subscriptions(webhook_receiver: WebhookReceiver) -> None:
    sub = WebhookSubscriptionConfig(
        "CBeteiligte.create", webhook_receiver.url_for(), "s3cret", webhook_id="sandboxhook000001"
    )
    async with start_espocrm_sim(subscriptions=[sub]) as sim:
        await sim.admin("POST", "as-user", {"userId": "user-bernd"})
        record = await sim.create("CBeteiligte", PERSON)
        assert record["createdById"] == "user-bernd"
        deliveries = await sim.flush_webhooks()
        assert [d["webhookId"] for d in deliveries] == ["sandboxhook000001"]
        verify_signatures(
            webhook_receiver.received[0].body,
            webhook_receiver.received[0].headers,
            "sandboxhook000001",
            "s3cret",
        )
        await sim.admin("POST", "reset")
        assert sim.state.tables["CBeteiligte"] == {} and list(sim.state.tables["Webhook"]) == [
            "sandboxhook000001"
        ]
        assert (await sim.create("CBeteiligte", PERSON))["createdById"] == sim.config.api_user_id


async def test_lost_response_after_write(espocrm_sim: EspoSimHandle) -> None:
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    rule = {"method": "PUT", "route": "/api/v1/{entity}/{id}", "status": 504, "count": 1, "after_write": True}
    await espocrm_sim.admin("POST", "faults", {"rules": [rule]})
    status, _ = await espocrm_sim.request("PUT", f"CBeteiligte/{record['id']}", json_body={"titel": "Dr."})
    assert status == 504
    assert (await espocrm_sim.get("CBeteiligte", record["id"]))["titel"] == "Dr."


# --- webhooks (E1–E4, signatures, delivery rules) -------------------------------------------


async def test_E1_body_is_an_array_with_several_records_and_repeats(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    await subscribe_all(espocrm_sim, webhook_receiver)
    a = await espocrm_sim.create("CBeteiligte", PERSON)
    b = await espocrm_sim.create("CBeteiligte", {"firmenname": "Überland AG"})
    for rid in (a["id"], b["id"]):
        await espocrm_sim.update_as_user("CBeteiligte", rid, {"titel": "Dr."})
    await espocrm_sim.flush_webhooks()
    await espocrm_sim.update_as_user("CBeteiligte", a["id"], {"titel": "Prof."})
    await espocrm_sim.flush_webhooks()
    updates = webhook_receiver.bodies("/update")
    assert [[item["id"] for item in body] for body in updates] == [[a["id"], b["id"]], [a["id"]]]


async def test_E2_webhooks_are_sent_later_by_the_background_job(webhook_receiver: WebhookReceiver) -> None:
    async with start_espocrm_sim(webhook_delay_s=0.5) as sim:
        await sim.subscribe("CBeteiligte.create", webhook_receiver.url_for())
        saved_at = time.monotonic()
        for _ in range(3):
            await sim.create_as_user("CBeteiligte", PERSON)
        assert webhook_receiver.received == []
        await webhook_receiver.wait_for(1, timeout=3)
        assert time.monotonic() - saved_at >= 0.5
        await asyncio.sleep(0.1)
        # Saved within the delay window, so sent in one POST.
        assert [len(body) for body in webhook_receiver.bodies()] == [3]


async def test_E3_update_item_holds_only_changed_attributes_and_id(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    hooks = await subscribe_all(espocrm_sim, webhook_receiver)
    record = await espocrm_sim.create_as_user(
        "CBeteiligte", {**PERSON, "emailAddressData": [{"emailAddress": "a/b@example.de"}]}
    )
    await espocrm_sim.update_as_user("CBeteiligte", record["id"], {"titel": "Dr.", "lastName": "Müller"})
    await espocrm_sim.update_as_user("CBeteiligte", record["id"], {"titel": "Dr."})  # no change: nothing
    await espocrm_sim.delete_as_user("CBeteiligte", record["id"])
    await espocrm_sim.flush_webhooks()
    by_path = {r.path: r for r in webhook_receiver.received}
    assert set(by_path) == {"/create", "/update", "/delete"}
    created = by_path["/create"].json[0]
    assert created["id"] == record["id"] and created["lastName"] == "Müller" and "modifiedAt" in created
    assert by_path["/update"].json == [{"id": record["id"], "titel": "Dr."}]
    assert by_path["/delete"].json == [{"id": record["id"]}]
    raw = by_path["/create"].body
    assert b"M\\u00fcller" in raw and b"a\\/b@example.de" in raw and b", " not in raw
    verify_signatures(raw, by_path["/create"].headers, hooks["create"]["id"], hooks["create"]["secretKey"])


async def test_E4_own_writes_fire_no_webhook_with_skip_own(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    await espocrm_sim.subscribe("CBeteiligte.update", webhook_receiver.url_for("/own"), skip_own=True)
    await espocrm_sim.subscribe("CBeteiligte.update", webhook_receiver.url_for("/all"), skip_own=False)
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    await espocrm_sim.update(
        "CBeteiligte", record["id"], {"advowareRowId": "AAAAAAAAB9E=", "syncStatus": "clean"}
    )
    await espocrm_sim.flush_webhooks()
    assert webhook_receiver.bodies("/own") == [] and len(webhook_receiver.bodies("/all")) == 1
    await espocrm_sim.update_as_user("CBeteiligte", record["id"], {"firstName": "Till"})
    await espocrm_sim.flush_webhooks()
    assert webhook_receiver.bodies("/own") == [
        [{"id": record["id"], "firstName": "Till", "name": "Till Müller", "syncStatus": "dirty"}]
    ]


async def test_E4_alternative_mode_ignores_bookkeeping_only_updates(
    webhook_receiver: WebhookReceiver,
) -> None:
    async with start_espocrm_sim(ignore_bookkeeping_only_updates=True) as sim:
        await sim.subscribe("CBeteiligte.update", webhook_receiver.url_for(), skip_own=False)
        record = await sim.create("CBeteiligte", PERSON)
        await sim.update("CBeteiligte", record["id"], {"advowareRowId": "X", "syncStatus": "clean"})
        await sim.update("CBeteiligte", record["id"], {"titel": "Dr.", "syncStatus": "clean"})
        await sim.flush_webhooks()
        assert webhook_receiver.bodies() == [[{"id": record["id"], "titel": "Dr."}]]


async def test_field_update_event(espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver) -> None:
    await espocrm_sim.subscribe("CBeteiligte.fieldUpdate.lastName", webhook_receiver.url_for())
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    await espocrm_sim.update_as_user("CBeteiligte", record["id"], {"titel": "Dr."})
    await espocrm_sim.update_as_user("CBeteiligte", record["id"], {"lastName": "Kühne"})
    await espocrm_sim.flush_webhooks()
    assert webhook_receiver.bodies() == [[{"id": record["id"], "lastName": "Kühne"}]]


async def test_batches_hold_at_most_batch_size_items(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    espocrm_sim.config.webhook_batch_size = 2
    await espocrm_sim.subscribe("CBankverbindungen.create", webhook_receiver.url_for())
    for _ in range(5):
        await espocrm_sim.create_as_user("CBankverbindungen", {"iban": "DE89370400440532013000"})
    deliveries = await espocrm_sim.flush_webhooks()
    assert [d["items"] for d in deliveries] == [2, 2, 1]
    assert [len(b) for b in webhook_receiver.bodies()] == [2, 2, 1]


async def test_retry_on_503_until_success(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.statuses = [503, 500]
    async with start_espocrm_sim(webhook_retry_interval_s=0.05) as sim:
        await sim.subscribe("CBeteiligte.create", webhook_receiver.url_for())
        await sim.create_as_user("CBeteiligte", PERSON)
        await webhook_receiver.wait_for(3, timeout=3)
        await asyncio.sleep(0.05)
        deliveries = (await sim.webhooks())["deliveries"]
        assert [(d["status"], d["outcome"], d["attempt"]) for d in deliveries] == [
            (503, "retry", 1),
            (500, "retry", 2),
            (200, "done", 3),
        ]
        bodies = webhook_receiver.bodies()
        assert bodies[0] == bodies[2]  # the same item is sent again


async def test_retry_stops_after_four_attempts(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.default_status = 503
    await espocrm_sim.subscribe("CBeteiligte.create", webhook_receiver.url_for())
    await espocrm_sim.create_as_user("CBeteiligte", PERSON)
    outcomes = [d["outcome"] for _ in range(5) for d in await espocrm_sim.flush_webhooks()]
    assert outcomes == ["retry", "retry", "retry", "failed"]
    assert (await espocrm_sim.webhooks())["finished"][0]["status"] == "failed"


@pytest.mark.parametrize("code", [400, 502, 504])
async def test_other_codes_fail_at_once(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver, code: int
) -> None:
    webhook_receiver.default_status = code
    await espocrm_sim.subscribe("CBeteiligte.create", webhook_receiver.url_for())
    await espocrm_sim.create_as_user("CBeteiligte", PERSON)
    assert [d["outcome"] for d in await espocrm_sim.flush_webhooks()] == ["failed"]
    assert await espocrm_sim.flush_webhooks() == []
    assert len(webhook_receiver.received) == 1


async def test_410_deletes_the_subscription(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.statuses = [410]
    hook = await espocrm_sim.subscribe("CBeteiligte.create", webhook_receiver.url_for())
    await espocrm_sim.create_as_user("CBeteiligte", PERSON)
    assert [d["outcome"] for d in await espocrm_sim.flush_webhooks()] == ["webhook_deleted"]
    assert (await espocrm_sim.request("GET", f"Webhook/{hook['id']}"))[0] == 404
    await espocrm_sim.create_as_user("CBeteiligte", PERSON)
    assert await espocrm_sim.flush_webhooks() == []


async def test_unreachable_receiver_counts_as_0_and_is_retried(espocrm_sim: EspoSimHandle) -> None:
    async with start_webhook_receiver() as gone:
        url = gone.url_for()
    await espocrm_sim.subscribe("CBeteiligte.create", url)
    await espocrm_sim.create_as_user("CBeteiligte", PERSON)
    assert [(d["status"], d["outcome"]) for d in await espocrm_sim.flush_webhooks()] == [(0, "retry")]


async def test_webhook_subscribe_validate_and_delete(
    espocrm_sim: EspoSimHandle, webhook_receiver: WebhookReceiver
) -> None:
    hook = await espocrm_sim.subscribe("CBeteiligte.update", webhook_receiver.url_for())
    assert len(hook["id"]) == 17 and re.fullmatch("[0-9a-f]{32}", hook["secretKey"])
    assert hook["userId"] == espocrm_sim.config.api_user_id and hook["skipOwn"] is True
    for bad in (
        {"event": "Nope.update", "url": "http://x"},
        {"event": "CBeteiligte.update", "url": "ftp://x"},
    ):
        assert (await espocrm_sim.request("POST", "Webhook", json_body=bad))[0] == 400
    assert (await espocrm_sim.request("DELETE", f"Webhook/{hook['id']}"))[0] == 200
    record = await espocrm_sim.create("CBeteiligte", PERSON)
    await espocrm_sim.update_as_user("CBeteiligte", record["id"], {"titel": "Dr."})
    assert await espocrm_sim.flush_webhooks() == []


async def test_sender_stops_with_the_app() -> None:
    async with start_espocrm_sim() as sim:
        task = sim.state.sender._task
        assert task is not None and not task.done()
    assert task.done()


async def test_client_timeout_is_configured(espocrm_sim: EspoSimHandle) -> None:
    session = espocrm_sim.state.sender._session
    assert isinstance(session, aiohttp.ClientSession)
    assert session.timeout.total == espocrm_sim.config.webhook_timeout_s
