"""AdvowareClient against the Advoware simulator over real HTTP: token flow, shapes, retries,
OutcomeUnknown, the raw proxy call, call counting."""

from __future__ import annotations

import asyncio

import pytest

from services.clients import (
    AdvowareClient,
    AdvowareCredentials,
    BadRequest,
    Forbidden,
    InMemoryTokenCache,
    NotFound,
    OutcomeUnknown,
    RetryPolicy,
    ServerError,
    SessionHolder,
    TransportError,
    count_calls,
)
from tests.clients.conftest import FAST_RETRY, count, set_faults
from tests.fixtures.advoware_sim import AdvowareSim, advoware_sim  # noqa: F401

TOKEN = "/api/v1/Token"
PARTY = "/Beteiligte/{betNr}"
PARTIES = "/api/v1/advonet/Beteiligte"


def make_client(sim: AdvowareSim, holder: SessionHolder, **overrides: object) -> AdvowareClient:
    from pydantic import SecretStr

    cfg = sim.config
    creds = AdvowareCredentials(
        app_id=cfg.app_id,
        api_key_b64=SecretStr(cfg.api_key_b64),
        kanzlei=cfg.kanzlei,
        database=cfg.database,
        user=cfg.user,
        password=SecretStr(cfg.password),
        role=cfg.role,
        product=cfg.product,
    )
    kwargs: dict[str, object] = {
        "base_url": sim.url,
        "token_url": sim.url + "api/v1/Token",
        "credentials": creds,
        "session": holder,
        "token_cache": InMemoryTokenCache(),
        "retry": FAST_RETRY,
        "max_requests_per_second": 0,
        "timeout_s": 5.0,
    }
    return AdvowareClient(**{**kwargs, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def client(advoware_sim: AdvowareSim, holder: SessionHolder) -> AdvowareClient:  # noqa: F811
    return make_client(advoware_sim, holder)


async def new_party(client: AdvowareClient, name: str = "Mustermann", vorname: str | None = "Max") -> int:
    created = await client.create_party({"name": name, "vorname": vorname, "rechtsform": "Privatperson"})
    return int(created["betNr"])


# -- shapes ---------------------------------------------------------------------------------------


async def test_party_create_get_update_normalise_shapes(client: AdvowareClient) -> None:
    created = await client.create_party({"name": "Mustermann", "vorname": "Max", "unknownField": "x"})
    assert isinstance(created, dict) and created["betNr"]
    fetched = await client.get_party(created["betNr"])  # simulator answers a one-element list (A4)
    assert fetched["name"] == "Mustermann" and "unknownField" not in fetched
    updated = await client.update_party(created["betNr"], {**fetched, "vorname": "Moritz"})
    assert isinstance(updated, dict) and updated["vorname"] == "Moritz"
    assert updated["rowId"] != fetched["rowId"]  # A1


async def test_search_refilters_exactly(client: AdvowareClient) -> None:
    await new_party(client, "Meier", "Anna")
    await new_party(client, "Meier", None)
    await new_party(client, "Meierhof", "Anna")
    found = await client.search_parties("Meier", "Anna")
    assert [(p["name"], p["vorname"]) for p in found] == [("Meier", "Anna")]
    companies = await client.search_parties("Meier")
    assert [(p["name"], p.get("vorname")) for p in companies] == [("Meier", None)]


async def test_kommunikation_adressen_bank(client: AdvowareClient) -> None:
    betnr = await new_party(client)
    entry = await client.create_kommunikation(betnr, {"tlf": "+49 30 1", "kommKz": 1, "bemerkung": "x"})
    changed = await client.update_kommunikation(betnr, entry["id"], {"tlf": "+49 30 2"})
    assert changed["tlf"] == "+49 30 2" and changed["rowId"] != entry["rowId"]
    with pytest.raises(Forbidden):
        await client.delete_kommunikation(betnr, entry["id"])  # A8
    await client.create_adresse(betnr, {"strasse": "A-Str. 1", "plz": "10115", "ort": "Berlin"})
    addresses = await client.list_adressen(betnr)
    assert len(addresses) == 1
    index = addresses[0]["reihenfolgeIndex"]
    assert (await client.update_adresse(betnr, index, {"ort": "Potsdam"}))["ort"] == "Potsdam"
    account = await client.create_bankverbindung(betnr, {"iban": "DE02120300000000202051"})
    assert account["iban"] == "DE02120300000000202051"
    assert await client.list_bankverbindungen(betnr) == [account]


async def test_termine_filter_uses_frnr(client: AdvowareClient, advoware_sim: AdvowareSim) -> None:  # noqa: F811
    advoware_sim.state.employees["SB"] = {"kuerzel": "SB", "name": "Beispiel", "aktiv": True}
    assert [e["kuerzel"] for e in await client.list_employees()] == ["SB"]
    first = await client.create_termin({"kuerzel": "SB", "datum": "2026-03-02T00:00:00", "text": "A"})
    await client.create_termin({"kuerzel": "SB", "datum": "2026-03-03T00:00:00", "text": "B"})
    only = await client.list_termine("SB", "2026-03-01", "2026-03-31", frnr=first["frNr"])
    assert [t["text"] for t in only] == ["A"]  # `frNr=` would have listed both (A18)
    assert len(await client.list_termine("SB", "2026-03-01", "2026-03-31")) == 2
    await client.update_termin(first["frNr"], {"text": "A2"})
    await client.delete_termin(first["frNr"])
    assert [t["text"] for t in await client.list_termine("SB")] == ["B"]


async def test_termin_by_frnr_of_any_employee_and_its_window(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    for kuerzel in ("SB", "AI"):
        advoware_sim.state.add_employee(kuerzel, "Name", "Vorname", aktiv=kuerzel == "SB")
    employees = {e["kuerzel"]: e for e in await client.list_employees()}
    assert employees["SB"]["aktiv"] is True and employees["AI"]["aktiv"] is False
    assert employees["SB"]["email"] == "sb@kanzlei.example"
    other = await client.create_termin(
        {"kuerzel": "AI", "datum": "2026-03-10", "uhrzeitVon": "09:00", "text": "X"}
    )
    series = await client.create_termin(
        {"kuerzel": "SB", "datum": "2026-01-05", "uhrzeitVon": "10:00", "turnus": 1, "turnusArt": 2,
         "turnusBis": "2026-06-29", "text": "Serie"}
    )  # fmt: skip
    late = await client.create_termin(
        {"kuerzel": "SB", "datum": "2026-05-02", "dauertermin": 1, "text": "Spät"}
    )
    # GET by frnr without Kürzel finds another employee's appointment (the move check, §5).
    assert (await client.get_termin(other["frNr"]))["kuerzel"] == "AI"  # type: ignore[index]
    window = await client.list_termine("SB", "2026-03-01", "2026-03-31")
    assert [t["frNr"] for t in window] == [series["frNr"]]  # the series overlaps, `late` does not
    assert late["frNr"] in [t["frNr"] for t in await client.list_termine("SB", "2026-05-01", "2026-05-31")]
    await client.delete_termin(other["frNr"])
    assert await client.get_termin(other["frNr"]) is None
    updated = await client.update_termin(series["frNr"], {"text": "Serie neu"})
    assert updated["rowId"] != series["rowId"] and updated["turnusArt"] == 2  # untouched fields kept


async def test_termin_create_lost_answer_is_outcome_unknown(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    from services.clients import OutcomeUnknown

    advoware_sim.state.add_employee("SB", "Name", "Vorname")
    await client.list_employees()  # token first
    await set_faults(
        advoware_sim.url,
        {"method": "POST", "route": "*/Termine", "status": 503, "count": 1, "after_write": True},
    )
    with pytest.raises(OutcomeUnknown):
        await client.create_termin({"kuerzel": "SB", "datum": "2026-03-10", "text": "einmal"})
    assert count(advoware_sim.calls(), "POST", "/Termine") == 1  # never re-sent blindly
    assert [t["text"] for t in await client.list_termine("SB")] == ["einmal"]


# -- token flow -----------------------------------------------------------------------------------


async def test_token_cached_across_calls(client: AdvowareClient, advoware_sim: AdvowareSim) -> None:  # noqa: F811
    betnr = await new_party(client)
    for _ in range(10):
        await client.get_party(betnr)
    assert count(advoware_sim.calls(), "POST", TOKEN) == 1


async def test_concurrent_first_calls_share_one_token_fetch(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    await asyncio.gather(*(client.list_employees() for _ in range(10)))
    assert count(advoware_sim.calls(), "POST", TOKEN) == 1


async def test_expired_token_refreshed_once_on_401(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    betnr = await new_party(client)
    await admin_expire(advoware_sim)
    assert (await client.get_party(betnr))["betNr"] == betnr
    calls = advoware_sim.calls()
    assert count(calls, "POST", TOKEN) == 2
    assert count(calls, "GET", PARTY, 401) == 1 and count(calls, "GET", PARTY, 200) == 1


async def test_token_shared_through_cache_between_clients(
    advoware_sim: AdvowareSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    cache = InMemoryTokenCache()
    first, second = (make_client(advoware_sim, holder, token_cache=cache) for _ in range(2))
    await first.list_employees()
    await second.list_employees()
    assert count(advoware_sim.calls(), "POST", TOKEN) == 1


async def test_wrong_password_is_unauthorized_without_retry(
    advoware_sim: AdvowareSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    from pydantic import SecretStr

    from services.clients import Unauthorized

    client = make_client(advoware_sim, holder)
    client._credentials = AdvowareCredentials(
        **{**client._credentials.__dict__, "password": SecretStr("wrong")}
    )
    with pytest.raises(Unauthorized):
        await client.list_employees()
    assert count(advoware_sim.calls(), "POST", TOKEN) == 1


async def admin_expire(sim: AdvowareSim) -> None:
    from tests.clients.conftest import admin_post

    await admin_post(sim.url, "/_admin/expire-tokens", {})


# -- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
async def test_get_retried_on_transient_status(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
    status: int,
) -> None:
    betnr = await new_party(client)
    await set_faults(advoware_sim.url, {"method": "GET", "route": "*" + PARTY, "status": status, "count": 2})
    assert (await client.get_party(betnr))["betNr"] == betnr
    calls = advoware_sim.calls()
    assert count(calls, "GET", PARTY) == 3
    assert count(calls, "GET", PARTY, status) == 2


async def test_put_gives_up_after_max_tries(client: AdvowareClient, advoware_sim: AdvowareSim) -> None:  # noqa: F811
    betnr = await new_party(client)
    await set_faults(advoware_sim.url, {"method": "PUT", "route": "*" + PARTY, "status": 502})
    with pytest.raises(ServerError):
        await client.update_party(betnr, {"name": "X"})
    assert count(advoware_sim.calls(), "PUT", PARTY) == FAST_RETRY.max_tries


@pytest.mark.parametrize(("status", "error"), [(400, BadRequest), (403, Forbidden), (404, NotFound)])
async def test_no_retry_on_client_errors(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
    status: int,
    error: type[Exception],
) -> None:
    betnr = await new_party(client)
    await set_faults(advoware_sim.url, {"method": "GET", "route": "*" + PARTY, "status": status, "count": 3})
    with pytest.raises(error):
        await client.get_party(betnr)
    assert count(advoware_sim.calls(), "GET", PARTY) == 1


async def test_unknown_party_is_not_found_once(client: AdvowareClient, advoware_sim: AdvowareSim) -> None:  # noqa: F811
    with pytest.raises(NotFound):
        await client.get_party(999999)
    assert count(advoware_sim.calls(), "GET", PARTY) == 1


async def test_post_with_lost_response_is_outcome_unknown(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    await client.list_employees()  # token first, so only the POST is in question
    await set_faults(
        advoware_sim.url,
        {"method": "POST", "route": PARTIES, "status": 503, "count": 1, "after_write": True},
    )
    with pytest.raises(OutcomeUnknown) as info:
        await client.create_party({"name": "Lost", "vorname": "Response"})
    assert info.value.status == 503
    assert count(advoware_sim.calls(), "POST", PARTIES) == 1
    assert [p["betNr"] for p in await client.search_parties("Lost", "Response")]  # it was written


async def test_post_with_429_is_retried_and_creates_once(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    await set_faults(advoware_sim.url, {"method": "POST", "route": PARTIES, "status": 429, "count": 2})
    created = await client.create_party({"name": "Retry", "vorname": "Ok"})
    assert created["betNr"]
    assert count(advoware_sim.calls(), "POST", PARTIES) == 3
    assert len(await client.search_parties("Retry", "Ok")) == 1


async def test_timeouts_retry_get_but_not_post(
    advoware_sim: AdvowareSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    client = make_client(advoware_sim, holder, timeout_s=0.3)
    await client.list_employees()
    slow = {"status": None, "latency_ms": 600, "count": 1}
    await set_faults(advoware_sim.url, {"method": "GET", "route": "*/Mitarbeiter", **slow})
    assert await client.list_employees() == []
    assert count(advoware_sim.calls(), "GET", "/Mitarbeiter") >= 2
    await set_faults(advoware_sim.url, {"method": "POST", "route": PARTIES, **slow})
    with pytest.raises(OutcomeUnknown) as info:
        await client.create_party({"name": "Slow"})
    assert info.value.status is None


async def test_connection_refused_retries_even_post(holder: SessionHolder) -> None:
    from tests.fixtures.advoware_sim import start_advoware_sim

    async with start_advoware_sim() as sim:
        client = make_client(sim, holder)
    # The simulator is stopped: its port now refuses connections, so nothing was ever sent.
    with count_calls() as calls, pytest.raises(TransportError) as info:
        await client.create_party({"name": "Nobody"})
    assert info.value.not_sent and not isinstance(info.value, OutcomeUnknown)
    assert calls.count(include_non_data=True) == FAST_RETRY.max_tries  # token POST, retried


# -- raw request (proxy) --------------------------------------------------------------------------


async def test_raw_request_passes_errors_through(client: AdvowareClient, advoware_sim: AdvowareSim) -> None:  # noqa: F811
    betnr = await new_party(client)
    status, headers, body = await client.request("GET", f"api/v1/advonet/Beteiligte/{betnr}")
    assert status == 200 and body[0]["betNr"] == betnr and "Content-Type" in headers
    missing = await client.request("GET", "/api/v1/advonet/Beteiligte/424242")
    assert missing.status == 404
    await set_faults(advoware_sim.url, {"method": "GET", "route": "*" + PARTY, "status": 503, "count": 1})
    assert (await client.request("GET", f"api/v1/advonet/Beteiligte/{betnr}")).status == 503
    await admin_expire(advoware_sim)
    assert (await client.request("GET", f"api/v1/advonet/Beteiligte/{betnr}")).status == 200
    assert count(advoware_sim.calls(), "POST", TOKEN) == 2


async def test_raw_request_counts_by_template(client: AdvowareClient) -> None:
    betnr = await new_party(client)
    with count_calls() as calls:
        await client.request("GET", f"api/v1/advonet/Beteiligte/{betnr}", headers={"Authorization": "x"})
        await client.request("GET", "api/v1/Akten")
    assert calls.count(route="api/v1/advonet/Beteiligte/{betnr}") == 1
    assert calls.count(route="(other)") == 1


@pytest.mark.parametrize(
    "path", ["http://evil.example/x", "api/../../etc", "api/v1/x?y=1", "api/%2E%2E/x", "a\\b"]
)
async def test_raw_request_rejects_paths_leaving_the_base(client: AdvowareClient, path: str) -> None:
    with pytest.raises(ValueError):
        await client.request("GET", path)


# -- counting and rate limit ----------------------------------------------------------------------


async def test_call_log_counts_data_calls_only(client: AdvowareClient) -> None:
    with count_calls() as calls:
        betnr = await new_party(client)
        await client.get_party(betnr)
        await client.update_party(betnr, {"name": "Neu"})
    assert calls.count(system="advoware", kind="read") == 1
    assert calls.count(system="advoware", kind="write") == 2
    assert calls.count(system="advoware", include_non_data=True) == 4  # + the token request
    assert calls.count(system="espocrm") == 0


async def test_call_log_sees_retries_and_nested_blocks(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    betnr = await new_party(client)
    await set_faults(advoware_sim.url, {"method": "GET", "route": "*" + PARTY, "status": 503, "count": 1})
    with count_calls() as outer:
        with count_calls() as inner:
            await client.get_party(betnr)
        await client.list_employees()
    assert inner.count() == 2 and outer.count() == 3
    assert [r.status for r in inner.records] == ["503", "200"]


async def test_prometheus_counter_by_template(client: AdvowareClient) -> None:
    from prometheus_client import REGISTRY

    labels = {"system": "advoware", "method": "GET", "route": "api/v1/advonet/Mitarbeiter", "status": "200"}
    before = REGISTRY.get_sample_value("bitbylaw_client_requests_total", labels) or 0.0
    await client.list_employees()
    await client.list_employees()
    assert REGISTRY.get_sample_value("bitbylaw_client_requests_total", labels) == before + 2


async def test_rate_limit_bounds_calls_per_second(
    advoware_sim: AdvowareSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    client = make_client(advoware_sim, holder, max_requests_per_second=20.0, burst=1.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(client.list_employees() for _ in range(10)))
    # 11 requests (token + 10) at 20/s with a burst of 1: at least 10 intervals of 50 ms.
    assert loop.time() - started >= 0.5 * 0.8


async def test_retry_policy_is_bounded_by_max_tries(
    advoware_sim: AdvowareSim,  # noqa: F811
    holder: SessionHolder,
) -> None:
    client = make_client(
        advoware_sim, holder, retry=RetryPolicy(max_tries=2, base_delay=0.001, max_delay=0.001)
    )
    await set_faults(advoware_sim.url, {"method": "GET", "route": "*/Mitarbeiter", "status": 500})
    with pytest.raises(ServerError):
        await client.list_employees()
    assert count(advoware_sim.calls(), "GET", "/Mitarbeiter") == 2


async def test_concurrent_calls_after_expiry_refresh_once(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
) -> None:
    await client.list_employees()
    await admin_expire(advoware_sim)
    await asyncio.gather(*(client.list_employees() for _ in range(8)))
    assert count(advoware_sim.calls(), "POST", TOKEN) == 2


async def test_no_secret_or_personal_data_in_logs(
    client: AdvowareClient,
    advoware_sim: AdvowareSim,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    betnr = await new_party(client, "Geheimname", "Vertraulich")
    await set_faults(
        advoware_sim.url,
        {"method": "GET", "route": "*" + PARTY, "status": 503, "count": 2},
        {"method": "POST", "route": PARTIES, "status": 500, "count": 1, "after_write": True},
        {"method": "PUT", "route": "*" + PARTY, "status": 400, "count": 1},
    )
    await client.get_party(betnr)
    for call in (
        client.create_party({"name": "Geheimname", "vorname": "Zwei"}),
        client.update_party(betnr, {"name": "Geheimname"}),
    ):
        try:
            await call
        except Exception as exc:
            errors.append(f"{exc!r} {exc}")
    await admin_expire(advoware_sim)
    await client.search_parties("Geheimname", "Vertraulich")
    await client.request("GET", f"api/v1/advonet/Beteiligte/{betnr}")
    tokens = list(advoware_sim.state.tokens._tokens)
    assert len(tokens) == 2 and len(errors) == 2
    text = caplog.text + "\n".join(errors)
    assert "advoware GET api/v1/advonet/Beteiligte/{betnr} -> 503" in caplog.text
    secrets = [advoware_sim.config.api_key_b64, advoware_sim.config.password, *tokens]
    for secret in [*secrets, "Geheimname", "Vertraulich", f"Beteiligte/{betnr}"]:
        assert secret not in text
