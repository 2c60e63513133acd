"""The Advoware simulator over real HTTP: token flow, one test per quirk A1-A19, search, seed,
snapshot. Quirk ids refer to EXTERNAL_SYSTEMS.md 1.6."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulators.advoware import AdvowareSimConfig
from tests.fixtures.advoware_sim import AdvowareSim, sign_token_request

BET = "api/v1/advonet/Beteiligte"


@pytest.fixture
async def api(advoware_sim: AdvowareSim) -> AsyncIterator[aiohttp.ClientSession]:
    headers = await advoware_sim.auth_headers()
    async with aiohttp.ClientSession(advoware_sim.url, headers=headers) as session:
        yield session


async def call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None, **kw: Any):
    async with session.request(method, path, json=body, **kw) as resp:
        data = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, data


async def create_party(api: aiohttp.ClientSession, **fields: Any) -> dict:
    body = {"name": "Müller", "vorname": "Jörg", "anrede": "Herr", **fields}
    status, data = await call(api, "POST", BET, body)
    assert status == 201, data
    return data


async def get_party(api: aiohttp.ClientSession, bet_nr: int) -> dict:
    status, data = await call(api, "GET", f"{BET}/{bet_nr}")
    assert status == 200, data
    assert isinstance(data, list) and len(data) == 1
    return data[0]


# -- token flow ----------------------------------------------------------------------------------


async def test_token_issued_and_used(advoware_sim: AdvowareSim, api: aiohttp.ClientSession) -> None:
    status, data = await call(api, "GET", f"{BET}?name=x")
    assert status == 200 and data == []
    assert advoware_sim.calls()[("POST", "/api/v1/Token", 200)] == 1


async def test_no_token_is_401(advoware_sim: AdvowareSim) -> None:
    async with aiohttp.ClientSession(advoware_sim.url) as session:
        status, data = await call(session, "GET", f"{BET}/1")
        assert status == 401 and "message" in data
        status, _ = await call(session, "GET", f"{BET}/1", headers={"Authorization": "Bearer nope"})
        assert status == 401


class FakeClock:
    """An adjustable epoch clock for the simulator config."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


def clocked_config(**kw: Any) -> AdvowareSimConfig:
    return AdvowareSimConfig(clock=FakeClock(), **kw)


async def post_token(sim: AdvowareSim, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession(sim.url) as session:
        return await call(session, "POST", "api/v1/Token", body)


def _tamper(body: dict, **changes: Any) -> dict:
    return {**body, **changes}


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda c, b: _tamper(b, HMAC512Signature="AAAA" + b["HMAC512Signature"][4:]), "Signature"),
        (lambda c, b: _tamper(b, Password="wrong"), "password"),
        (lambda c, b: _tamper(b, AppID="other-app"), "AppID"),
        (lambda c, b: _tamper(b, User="XY"), "User"),
        (lambda c, b: sign_token_request(c, timestamp="2020-01-01T00:00:00.0000000Z"), "RequestTimeStamp"),
    ],
    ids=["bad_signature", "wrong_password", "unknown_app_id", "wrong_user", "stale_timestamp"],
)
async def test_token_rejects(advoware_sim: AdvowareSim, mutate: Any, reason: str) -> None:
    body = mutate(advoware_sim.config, sign_token_request(advoware_sim.config))
    status, data = await post_token(advoware_sim, body)
    assert status == 401 and reason in data["message"]
    assert advoware_sim.calls() == {("POST", "/api/v1/Token", 401): 1}


async def test_token_rejects_reused_nonce(advoware_sim: AdvowareSim) -> None:
    body = sign_token_request(advoware_sim.config, nonce="fixed-nonce")
    assert (await post_token(advoware_sim, body))[0] == 200
    status, data = await post_token(advoware_sim, body)
    assert status == 401 and "Nonce" in data["message"]


async def test_token_rejects_future_timestamp_and_malformed_bodies(advoware_sim: AdvowareSim) -> None:
    config = advoware_sim.config
    status, _ = await post_token(advoware_sim, sign_token_request(config, timestamp="2999-01-01T00:00:00Z"))
    assert status == 401
    body = sign_token_request(config)
    del body["Nonce"]
    assert (await post_token(advoware_sim, body))[0] == 400
    async with aiohttp.ClientSession(advoware_sim.url) as session:
        async with session.post("api/v1/Token", data="{not json") as resp:
            assert resp.status == 400 and "message" in await resp.json()


@pytest.mark.parametrize("advoware_sim", [clocked_config(token_lifetime_s=60)], indirect=True)
async def test_token_expires_after_its_lifetime(advoware_sim: AdvowareSim) -> None:
    clock = advoware_sim.config.clock
    assert isinstance(clock, FakeClock)
    status, data = await post_token(advoware_sim, sign_token_request(advoware_sim.config))
    assert data["expires_in"] == 60
    headers = {"Authorization": f"Bearer {data['access_token']}"}
    async with aiohttp.ClientSession(advoware_sim.url, headers=headers) as session:
        assert (await call(session, "GET", "api/v1/advonet/Mitarbeiter"))[0] == 200
        clock.now += 61
        assert (await call(session, "GET", "api/v1/advonet/Mitarbeiter"))[0] == 401


async def test_A17_expired_token_then_fresh_token_succeeds(advoware_sim: AdvowareSim) -> None:
    token = await advoware_sim.token()
    async with aiohttp.ClientSession(advoware_sim.url) as session:
        old = {"Authorization": f"Bearer {token}"}
        assert (await call(session, "GET", f"{BET}?name=x", headers=old))[0] == 200
        async with session.post("_admin/expire-tokens") as resp:
            assert (await resp.json())["expired"] == 1
        status, data = await call(session, "GET", f"{BET}?name=x", headers=old)
        assert status == 401 and data["message"]
        fresh = {"Authorization": f"Bearer {await advoware_sim.token()}"}
        assert (await call(session, "GET", f"{BET}?name=x", headers=fresh))[0] == 200
    assert advoware_sim.calls()[("GET", "/api/v1/advonet/Beteiligte", 401)] == 1


# -- parties -------------------------------------------------------------------------------------


async def test_A1_put_returns_new_rowid(api: aiohttp.ClientSession) -> None:
    created = await create_party(api)
    row_ids = {created["rowId"]}
    for _ in range(2):
        status, data = await call(api, "PUT", f"{BET}/{created['betNr']}", {"name": "Müller"})
        assert status == 200
        row_ids.add(data[0]["rowId"])
    assert len(row_ids) == 3
    assert all(len(r) >= 40 and r.endswith("=") for r in row_ids)


async def test_A2_kommunikation_writes_keep_party_rowid(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    path = f"{BET}/{party['betNr']}/Kommunikationen"
    status, entry = await call(api, "POST", path, {"tlf": "+49 30 111", "kommKz": 1, "online": True})
    assert status == 201
    assert (await call(api, "PUT", f"{path}/{entry['id']}", {"tlf": "+49 30 222"}))[0] == 200
    assert (await get_party(api, party["betNr"]))["rowId"] == party["rowId"]


async def test_A3_put_answers_one_element_array(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    body = {**party, "titel": "Dr.", "geburtsdatum": "1980-02-29"}
    status, data = await call(api, "PUT", f"{BET}/{party['betNr']}", body)
    assert status == 200 and isinstance(data, list) and len(data) == 1
    assert data[0]["titel"] == "Dr." and data[0]["geburtsdatum"] == "1980-02-29T00:00:00"
    assert data[0] == await get_party(api, party["betNr"])


async def test_A4_get_answers_one_element_array(api: aiohttp.ClientSession) -> None:
    party = await create_party(api, rechtsform="Privatperson")
    status, data = await call(api, "GET", f"{BET}/{party['betNr']}")
    assert status == 200 and isinstance(data, list) and len(data) == 1
    assert data[0]["name"] == "Müller" and data[0]["rechtsform"] == "Privatperson"
    assert {"kommunikation", "adressen", "bankverbindungen", "geaendertAm"} <= data[0].keys()


async def test_A5_post_answers_object_and_rowid_can_be_dropped(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    created = await create_party(api)
    assert isinstance(created, dict) and isinstance(created["betNr"], int) and created["rowId"]
    rule = {"method": "POST", "route": "*/Beteiligte", "status": None, "drop_field": "rowId", "count": 1}
    await call(api, "POST", "_admin/faults", {"rules": [rule]})
    second = await create_party(api, name="Schäfer")
    assert "rowId" not in second and second["betNr"] == created["betNr"] + 1


async def test_A6_unknown_betnr_is_404(api: aiohttp.ClientSession) -> None:
    for method, path in [
        ("GET", f"{BET}/999999"),
        ("PUT", f"{BET}/999999"),
        ("GET", f"{BET}/999999/Adressen"),
        ("POST", f"{BET}/999999/Kommunikationen"),
        ("GET", f"{BET}/not-a-number"),
    ]:
        status, data = await call(api, method, path, {"name": "x", "kommKz": 1})
        assert status == 404 and "message" in data, (method, path)


async def test_party_delete_forbidden_but_desktop_delete_gives_404(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    assert (await call(api, "DELETE", f"{BET}/{party['betNr']}"))[0] == 403
    assert (await call(api, "DELETE", f"_admin/parties/{party['betNr']}"))[0] == 200
    assert (await call(api, "GET", f"{BET}/{party['betNr']}"))[0] == 404
    assert (await call(api, "DELETE", f"_admin/parties/{party['betNr']}"))[0] == 404


async def test_A7_unknown_and_nested_fields_are_dropped(api: aiohttp.ClientSession) -> None:
    party = await create_party(api, email="a@example.com", kontakt="x", handelsRegisterNummer="HRB 1")
    assert "email" not in party and party["handelsRegisterNummer"] == "HRB 1"
    body = {**party, "name": "Weiß", "steuernummer": "123", "kommunikation": [{"tlf": "x", "kommKz": 1}]}
    status, data = await call(api, "PUT", f"{BET}/{party['betNr']}", body)
    assert status == 200 and "steuernummer" not in data[0]
    stored = await get_party(api, party["betNr"])
    assert stored["name"] == "Weiß" and stored["kommunikation"] == [] and "steuernummer" not in stored


async def test_party_validation_and_malformed_json(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    assert (await call(api, "POST", BET, {"vorname": "Ohne Name"}))[0] == 400
    assert (await call(api, "POST", BET, [{"name": "Batch"}]))[0] == 400
    assert (await call(api, "POST", BET, {"name": "X", "geburtsdatum": "kein Datum"}))[0] == 400
    async with api.post(BET, data="{broken", headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400 and "JSON" in (await resp.json())["message"]
    assert (await call(api, "PATCH", f"{BET}/1"))[0] == 405
    assert (await call(api, "GET", "api/v1/advonet/Unbekannt"))[0] == 404


async def test_search_by_name_and_vorname_exact(api: aiohttp.ClientSession) -> None:
    a = await create_party(api, name="Müller", vorname="Jörg")
    await create_party(api, name="Müller", vorname="Jörgen")
    await create_party(api, name="müller", vorname="Jörg")
    company = await create_party(api, name="Müller Bau GmbH", vorname=None)
    status, found = await call(api, "GET", BET, params={"name": "Müller", "vorname": "Jörg"})
    assert status == 200 and [p["betNr"] for p in found] == [a["betNr"]]
    status, found = await call(api, "GET", BET, params={"name": "Müller Bau GmbH", "vorname": ""})
    assert [p["betNr"] for p in found] == [company["betNr"]]
    assert len((await call(api, "GET", BET, params={"name": "Müller"}))[1]) == 2
    assert (await call(api, "GET", BET, params={"name": "Niemand"}))[1] == []


async def test_lost_post_response_still_wrote_the_party(api: aiohttp.ClientSession) -> None:
    rule = {"method": "POST", "route": "*/Beteiligte", "status": 504, "after_write": True, "count": 1}
    await call(api, "POST", "_admin/faults", {"rules": [rule]})
    status, _ = await call(api, "POST", BET, {"name": "Köhler", "vorname": "Käthe"})
    assert status == 504
    found = (await call(api, "GET", BET, params={"name": "Köhler", "vorname": "Käthe"}))[1]
    assert len(found) == 1


# -- Kommunikation -------------------------------------------------------------------------------


async def add_komm(api: aiohttp.ClientSession, bet_nr: int, **body: Any) -> dict:
    status, entry = await call(api, "POST", f"{BET}/{bet_nr}/Kommunikationen", body)
    assert status == 201, entry
    return entry


async def test_A8_kommunikation_delete_is_forbidden(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    entry = await add_komm(api, party["betNr"], tlf="jo@example.org", kommKz=4, bemerkung="privat")
    status, data = await call(api, "DELETE", f"{BET}/{party['betNr']}/Kommunikationen/{entry['id']}")
    assert status == 403 and data["message"]
    (stored,) = (await get_party(api, party["betNr"]))["kommunikation"]
    assert stored["tlf"] == "jo@example.org" and stored["rowId"] == entry["rowId"]


async def test_A9_kommkz_is_ignored_on_put(advoware_sim: AdvowareSim, api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    entry = await add_komm(api, party["betNr"], tlf="+49 30 1", kommKz=1)
    path = f"{BET}/{party['betNr']}/Kommunikationen/{entry['id']}"
    status, data = await call(api, "PUT", path, {"tlf": "+49 30 2", "kommKz": 3, "online": True})
    assert status == 200 and data["kommKz"] == 1 and data["tlf"] == "+49 30 2" and data["online"] is True
    assert advoware_sim.state.parties[party["betNr"]].kommunikation[0].kommKz == 1


async def test_A10_kommkz_zero_on_get_for_api_created_entries(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    await call(api, "POST", "_admin/seed", {"parties": 3, "employees": 0, "seed": 3})
    seeded = next(p for p in advoware_sim.state.parties.values() if p.kommunikation)
    own = await add_komm(api, seeded.betNr, tlf="neu@example.com", kommKz=8)
    assert own["kommKz"] == 8 and own["kommArt"] == 3  # the write response tells the truth
    read = {k["id"]: k for k in (await get_party(api, seeded.betNr))["kommunikation"]}
    assert read[own["id"]]["kommKz"] == 0 and read[own["id"]]["kommArt"] == 3
    for entry in seeded.kommunikation:
        if not entry.api_created:
            assert read[entry.id]["kommKz"] == entry.kommKz


@pytest.mark.parametrize(
    ("advoware_sim", "expected"),
    [(AdvowareSimConfig(kommkz_zero_mode="never"), 6), (AdvowareSimConfig(kommkz_zero_mode="always"), 0)],
    indirect=["advoware_sim"],
    ids=["never", "always"],
)
async def test_A10_kommkz_zero_mode_is_configurable(api: aiohttp.ClientSession, expected: int) -> None:
    party = await create_party(api)
    await add_komm(api, party["betNr"], tlf="+49 221 5", kommKz=6)
    assert (await get_party(api, party["betNr"]))["kommunikation"][0]["kommKz"] == expected


async def test_A11_kommunikation_put_changes_entry_rowid(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    entry = await add_komm(api, party["betNr"], tlf="+49 30 1", kommKz=1)
    path = f"{BET}/{party['betNr']}/Kommunikationen/{entry['id']}"
    first = (await call(api, "PUT", path, {"tlf": "+49 30 1"}))[1]["rowId"]
    second = (await call(api, "PUT", path, {"bemerkung": "[ESPOCRM-SLOT:1]", "tlf": ""}))[1]["rowId"]
    assert len({entry["rowId"], first, second}) == 3
    (stored,) = (await get_party(api, party["betNr"]))["kommunikation"]
    assert stored["rowId"] == second and stored["tlf"] == "" and stored["bemerkung"] == "[ESPOCRM-SLOT:1]"


async def test_kommunikation_validation(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    path = f"{BET}/{party['betNr']}/Kommunikationen"
    for body in (
        {"tlf": "x"},
        {"tlf": "x", "kommKz": 13},
        {"tlf": "x", "kommKz": 0},
        {"tlf": 5, "kommKz": 1},
    ):
        assert (await call(api, "POST", path, body))[0] == 400, body
    assert (await call(api, "PUT", f"{path}/424242", {"tlf": "x"}))[0] == 404


# -- addresses and bank accounts -----------------------------------------------------------------


ADDRESS = {
    "strasse": "Hauptstraße 1",
    "plz": "50667",
    "ort": "Köln",
    "anschrift": "Jörg Müller\nHauptstraße 1\n50667 Köln",
    "land": "D",
    "postfach": None,
    "postfachPlz": None,
    "standardAnschrift": False,
    "gueltigVon": "2020-01-01",
    "gueltigBis": None,
    "bemerkung": "EspoCRM-ID: adr1",
}


async def test_A12_address_put_changes_only_main_fields(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    path = f"{BET}/{party['betNr']}/Adressen"
    status, created = await call(api, "POST", path, ADDRESS)
    assert (
        status == 201 and created["reihenfolgeIndex"] == 1 and created["gueltigVon"] == "2020-01-01T00:00:00"
    )
    change = {
        "strasse": "Neue Straße 2",
        "plz": "80331",
        "ort": "München",
        "anschrift": "neu",
        "land": "A",
        "gueltigBis": "2025-12-31",
        "bemerkung": "geändert",
        "standardAnschrift": True,
    }
    status, updated = await call(api, "PUT", f"{path}/1", change)
    assert status == 200 and updated["rowId"] != created["rowId"]
    (stored,) = (await call(api, "GET", path))[1]
    assert (stored["strasse"], stored["plz"], stored["ort"], stored["anschrift"]) == (
        "Neue Straße 2",
        "80331",
        "München",
        "neu",
    )
    assert (
        stored["land"] == "D" and stored["gueltigBis"] is None and stored["bemerkung"] == "EspoCRM-ID: adr1"
    )
    assert stored["standardAnschrift"] is False
    status, data = await call(api, "DELETE", f"{path}/1")
    assert status == 403 and len((await call(api, "GET", path))[1]) == 1


async def test_A13_reihenfolge_index_shifts_on_create(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    path = f"{BET}/{party['betNr']}/Adressen"
    await call(api, "POST", path, {**ADDRESS, "bemerkung": "EspoCRM-ID: a", "standardAnschrift": True})
    await call(api, "POST", path, {**ADDRESS, "bemerkung": "EspoCRM-ID: b"})
    listed = (await call(api, "GET", path))[1]
    stale_index_of_b = next(a["reihenfolgeIndex"] for a in listed if a["bemerkung"] == "EspoCRM-ID: b")
    assert stale_index_of_b == 2
    status, new = await call(
        api, "POST", path, {**ADDRESS, "bemerkung": "EspoCRM-ID: c", "standardAnschrift": True}
    )
    assert new["reihenfolgeIndex"] == 1
    await call(api, "PUT", f"{path}/{stale_index_of_b}", {"strasse": "für b gedacht"})
    by_marker = {a["bemerkung"]: a for a in (await call(api, "GET", path))[1]}
    assert by_marker["EspoCRM-ID: a"]["strasse"] == "für b gedacht"  # the wrong address
    assert by_marker["EspoCRM-ID: b"]["reihenfolgeIndex"] == 3
    assert (await call(api, "PUT", f"{path}/4", {"strasse": "x"}))[0] == 404
    # Only one main address: the new one took the flag.
    assert [a["standardAnschrift"] for a in (await call(api, "GET", path))[1]] == [True, False, False]


async def test_A14_bank_accounts_create_only(api: aiohttp.ClientSession) -> None:
    party = await create_party(api)
    path = f"{BET}/{party['betNr']}/Bankverbindungen"
    body = {
        "iban": "DE02120300000000202051",
        "bic": "BYLADEM1001",
        "bank": "Testbank",
        "kontoinhaber": "J. Müller",
    }
    status, account = await call(api, "POST", path, {**body, "waehrung": "EUR"})
    assert status == 201 and account["iban"] == body["iban"] and "waehrung" not in account
    assert (await call(api, "PUT", f"{path}/{account['id']}", {**body, "bank": "x"}))[0] == 403
    assert (await call(api, "DELETE", f"{path}/{account['id']}"))[0] == 403
    assert (await call(api, "PUT", f"{path}/999", body))[0] == 404
    (stored,) = (await get_party(api, party["betNr"]))["bankverbindungen"]
    assert stored == account
    assert (await call(api, "GET", path)) == (200, [account])  # the party's accounts alone
    assert (await call(api, "POST", path, {"bank": "ohne IBAN"}))[0] == 400


async def test_A15_subrecord_writes_leave_party_timestamps_and_filters_ignored(
    api: aiohttp.ClientSession,
) -> None:
    party = await create_party(api)
    entry = await add_komm(api, party["betNr"], tlf="+49 40 1", kommKz=1)
    await call(api, "PUT", f"{BET}/{party['betNr']}/Kommunikationen/{entry['id']}", {"tlf": "+49 40 2"})
    stored = await get_party(api, party["betNr"])
    assert stored["geaendertAm"] == party["geaendertAm"] and stored["rowId"] == party["rowId"]
    assert stored["kommunikation"][0]["rowId"] != entry["rowId"]  # only rowIds reveal the change
    since = "geaendertAm gt 2999-01-01T00:00:00"
    status, found = await call(api, "GET", BET, params={"filter": since, "orderBy": "geaendertAm desc"})
    assert status == 200 and [p["betNr"] for p in found] == [party["betNr"]]


async def test_A16_no_batch_writes_and_partial_failure_stays(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    party = await create_party(api)
    path = f"{BET}/{party['betNr']}/Kommunikationen"
    batch = [{"tlf": "+49 30 1", "kommKz": 1}, {"tlf": "a@example.com", "kommKz": 4}]
    assert (await call(api, "POST", path, batch))[0] == 400
    rule = {"method": "POST", "route": "*/Kommunikationen", "status": 503, "count": 1}
    await call(api, "POST", f"{BET}/{party['betNr']}/Kommunikationen", batch[0])
    await call(api, "POST", "_admin/faults", {"rules": [rule]})
    assert (await call(api, "POST", path, batch[1]))[0] == 503
    assert [k["tlf"] for k in (await get_party(api, party["betNr"]))["kommunikation"]] == ["+49 30 1"]


# -- employees and appointments ------------------------------------------------------------------

TERMINE = "api/v1/advonet/Termine"


def add_employee(sim: AdvowareSim, kuerzel: str, aktiv: bool = True) -> None:
    sim.state.add_employee(kuerzel, "Beispiel", "Sabine", aktiv=aktiv)


async def add_termin(api: aiohttp.ClientSession, **body: Any) -> dict:
    status, termin = await call(api, "POST", TERMINE, {"kuerzel": "SB", "text": "Termin", **body})
    assert status == 201, termin
    return termin


async def test_mitarbeiter_list(advoware_sim: AdvowareSim, api: aiohttp.ClientSession) -> None:
    add_employee(advoware_sim, "SB")
    add_employee(advoware_sim, "RO", aktiv=False)
    status, data = await call(api, "GET", "api/v1/advonet/Mitarbeiter")
    assert status == 200 and [(e["kuerzel"], e["aktiv"]) for e in data] == [("SB", True), ("RO", False)]


async def test_termin_crud_and_new_rowid_per_write(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    add_employee(advoware_sim, "SB")
    add_employee(advoware_sim, "AI")
    termin = await add_termin(api, datum="2026-03-02", uhrzeitVon="10:00", uhrzeitBis="11:30", ort="Raum 1")
    assert termin["datum"] == "2026-03-02T00:00:00" and termin["uhrzeitVon"] == "10:00:00"
    path = f"{TERMINE}/{termin['frNr']}"
    status, updated = await call(api, "PUT", path, {"notiz": "Akte mitbringen", "kuerzel": "AI"})
    assert status == 200 and updated["rowId"] != termin["rowId"]
    assert updated["notiz"] == "Akte mitbringen" and updated["ort"] == "Raum 1" and updated["kuerzel"] == "AI"
    # Offsets are converted to naive Berlin local time (summer time: +02:00).
    status, moved = await call(api, "PUT", path, {"datum": "2026-07-01T08:00:00Z"})
    assert moved["datum"] == "2026-07-01T10:00:00"
    assert (await call(api, "DELETE", path))[0] == 204
    assert (await call(api, "DELETE", path))[0] == 404
    assert (await call(api, "PUT", path, {"text": "x"}))[0] == 404


async def test_termin_validation(advoware_sim: AdvowareSim, api: aiohttp.ClientSession) -> None:
    add_employee(advoware_sim, "SB")
    for body in (
        {"kuerzel": "SB"},
        {"kuerzel": "XX", "datum": "2026-03-02"},
        {"kuerzel": "SB", "datum": "2026-03-02", "datumBis": "2026-03-01"},
        {"kuerzel": "SB", "datum": "2026-03-02", "uhrzeitVon": "25:00"},
        {"kuerzel": "SB", "datum": "2026-03-02", "turnusArt": 9},
    ):
        assert (await call(api, "POST", TERMINE, body))[0] == 400, body


async def test_termine_filters_with_overlapping_window(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    add_employee(advoware_sim, "SB")
    add_employee(advoware_sim, "AI")
    inside = await add_termin(api, datum="2026-03-10", uhrzeitVon="09:00", uhrzeitBis="10:00")
    spanning = await add_termin(api, datum="2026-02-25", datumBis="2026-03-02", dauertermin=1)
    series = await add_termin(api, datum="2025-01-06", uhrzeitVon="09:00", turnus=1, turnusArt=2)
    ended = await add_termin(api, datum="2025-01-06", turnus=1, turnusArt=3, turnusBis="2025-06-30")
    before = await add_termin(api, datum="2026-02-01")
    other = await add_termin(api, datum="2026-03-10", kuerzel="AI")
    status, found = await call(
        api, "GET", TERMINE, params={"kuerzel": "SB", "von": "2026-03-01", "bis": "2026-03-31"}
    )
    assert status == 200
    assert {t["frNr"] for t in found} == {inside["frNr"], spanning["frNr"], series["frNr"]}
    everything = {t["frNr"] for t in (await call(api, "GET", TERMINE))[1]}
    assert everything >= {ended["frNr"], before["frNr"], other["frNr"]}
    assert (await call(api, "GET", TERMINE, params={"von": "kein-datum"}))[0] == 400


async def test_A18_unknown_query_params_are_ignored(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    add_employee(advoware_sim, "SB")
    first = await add_termin(api, datum="2026-03-10")
    await add_termin(api, datum="2026-03-11")
    filtered = (await call(api, "GET", TERMINE, params={"frnr": str(first["frNr"])}))[1]
    assert [t["frNr"] for t in filtered] == [first["frNr"]]
    misspelled = (await call(api, "GET", TERMINE, params={"frNr": str(first["frNr"]), "foo": "bar"}))[1]
    assert len(misspelled) == 2


async def test_A19_subject_is_text_and_betreff_is_dropped(
    advoware_sim: AdvowareSim, api: aiohttp.ClientSession
) -> None:
    add_employee(advoware_sim, "SB")
    termin = await add_termin(api, datum="2026-03-10", text="Gerichtstermin", betreff="Betreff geht verloren")
    assert termin["text"] == "Gerichtstermin" and "betreff" not in termin
    await call(api, "PUT", f"{TERMINE}/{termin['frNr']}", {"betreff": "neu"})
    (stored,) = (await call(api, "GET", TERMINE, params={"frnr": str(termin["frNr"])}))[1]
    assert stored["text"] == "Gerichtstermin" and "betreff" not in stored


# -- seed, state, snapshot -----------------------------------------------------------------------

SEED = {"parties": 60, "employees": 4, "appointments_per_employee": 9, "seed": 7, "base_date": "2026-02-15"}


async def seed(session: aiohttp.ClientSession, body: dict) -> dict:
    status, data = await call(session, "POST", "_admin/seed", body)
    assert status == 200, data
    return data


async def dump(session: aiohttp.ClientSession) -> dict:
    status, data = await call(session, "GET", "_admin/state")
    assert status == 200
    return data


async def test_seed_is_deterministic(api: aiohttp.ClientSession) -> None:
    counts = await seed(api, SEED)
    assert counts["parties"] == 60 and counts["employees"] == 4 and counts["termine"] == 36
    first = await dump(api)
    assert await seed(api, SEED) == counts
    assert await dump(api) == first
    await seed(api, {**SEED, "seed": 8})
    assert (await dump(api))["parties"] != first["parties"]


async def test_seed_parties_content(advoware_sim: AdvowareSim, api: aiohttp.ClientSession) -> None:
    from simulators.common.iban import is_valid

    await seed(api, SEED)
    parties = [await get_party(api, bet_nr) for bet_nr in list(advoware_sim.state.parties)[:60]]
    persons = [p for p in parties if p["vorname"]]
    companies = [p for p in parties if not p["vorname"]]
    assert persons and companies and all(c["rechtsform"] != "Privatperson" for c in companies)
    assert any(ch in p["name"] + (p["vorname"] or "") for p in parties for ch in "äöüßÄÖÜ")
    entries = [k for p in parties for k in p["kommunikation"]]
    assert any("@" in k["tlf"] for k in entries) and any(k["tlf"].startswith("+49") for k in entries)
    assert any(k["tlf"] == "" and k["bemerkung"].startswith("[ESPOCRM-SLOT:") for k in entries)
    assert all(p["adressen"] and p["adressen"][0]["standardAnschrift"] for p in parties)
    ibans = [b["iban"] for p in parties for b in p["bankverbindungen"]]
    assert ibans and all(len(i) == 22 and i.startswith("DE") and is_valid(i) for i in ibans)


async def test_seed_appointment_kinds(api: aiohttp.ClientSession) -> None:
    await seed(api, SEED)
    employees = (await call(api, "GET", "api/v1/advonet/Mitarbeiter"))[1]
    assert len({e["kuerzel"] for e in employees}) == 4
    termine = (await call(api, "GET", TERMINE))[1]
    all_day = [t for t in termine if t["dauertermin"] == 1]
    assert any(t["datumBis"] == t["datum"] for t in all_day)
    assert any(t["datumBis"] > t["datum"] for t in all_day)
    assert any(t["datumBis"] > t["datum"] and t["uhrzeitVon"] for t in termine if not t["dauertermin"])
    assert {t["turnusArt"] for t in termine if t["turnus"]} >= {2, 3}
    # DST 2026: 29 March (spring) and 25 October (autumn), both in the seed window.
    assert any(t["datum"].startswith("2026-03-29") and t["uhrzeitVon"] == "01:30:00" for t in termine)
    assert any(
        t["datumBis"] and t["datumBis"].startswith("2026-10-25") and t["uhrzeitVon"] == "22:00:00"
        for t in termine
    )
    assert any(t["turnus"] and t["datum"] < "2026-03-29" < (t["turnusBis"] or "9999") for t in termine)
    window = (await call(api, "GET", TERMINE, params={"von": "2026-03-29", "bis": "2026-03-29"}))[1]
    assert window and len(window) < len(termine)


async def test_seed_rejects_bad_body(api: aiohttp.ClientSession) -> None:
    assert (await call(api, "POST", "_admin/seed", {"parties": -1}))[0] == 400
    assert (await call(api, "POST", "_admin/seed", {"base_date": "morgen"}))[0] == 400


async def test_reset_empties_state_but_keeps_tokens(api: aiohttp.ClientSession) -> None:
    await seed(api, {"parties": 2, "employees": 1, "appointments_per_employee": 1})
    assert (await call(api, "POST", "_admin/reset"))[0] == 200
    state = await dump(api)
    assert state["parties"] == [] and state["termine"] == [] and state["activeTokens"] == 1
    assert (await call(api, "GET", f"{BET}?name=x"))[0] == 200


async def test_snapshot_save_and_load(tmp_path: Any) -> None:
    from tests.fixtures.advoware_sim import start_advoware_sim

    path = tmp_path / "advoware.json"
    config = AdvowareSimConfig(snapshot_path=path)
    async with start_advoware_sim(config) as sim:
        async with aiohttp.ClientSession(sim.url, headers=await sim.auth_headers()) as api:
            await seed(api, {"parties": 5, "employees": 2, "appointments_per_employee": 3})
            assert (await call(api, "POST", "_admin/snapshot"))[1]["parties"] == 5
            saved = await dump(api)
            created = await create_party(api, name="Nach dem Snapshot")
    async with start_advoware_sim(AdvowareSimConfig(snapshot_path=path)) as sim:
        async with aiohttp.ClientSession(sim.url) as admin:
            restored = await dump(admin)
    # The shutdown save holds the later party too; ids continue where they stopped.
    assert len(restored["parties"]) == 6 and restored["termine"] == saved["termine"]
    assert restored["counters"]["betNr"] == created["betNr"]
    assert sim.state.parties[created["betNr"]].values["name"] == "Nach dem Snapshot"


async def test_snapshot_without_path_is_409_and_configurator(advoware_sim: AdvowareSim) -> None:
    async with aiohttp.ClientSession(advoware_sim.url) as session:
        assert (await call(session, "POST", "_admin/snapshot"))[0] == 409
        status, data = await call(
            session, "GET", "AdvonetConfigurator/api/Url", params={"Kanzlei": "SANDBOX"}
        )
        assert status == 200 and data["relayUrl"] == advoware_sim.url and data["connectorUrl"] is None
        assert (await call(session, "GET", "AdvonetConfigurator/api/Url", params={"Kanzlei": "X"}))[0] == 404
