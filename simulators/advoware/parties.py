"""Beteiligte (parties): GET by betNr, search, POST, PUT (EXTERNAL_SYSTEMS 1.4 rows 1-4b).

Quirks modelled here: GET answers a one-element array (A4), POST an object with `betNr` and
`rowId` (A5), PUT a one-element array with a new `rowId` every time (A1, A3); unknown betNr → 404
(A6); fields outside the persisted set are accepted and dropped (A7); nested lists in a PUT body
are ignored; a stale `rowId` in the body is not checked (open point 8); DELETE → 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from simulators.advoware.fields import datetime_or_none, str_or_none
from simulators.advoware.httputil import ApiError, int_param, not_found, read_object
from simulators.advoware.records import JsonDict, Party
from simulators.advoware.render import party_json
from simulators.advoware.state import AdvowareState

BASE = "/api/v1/advonet/Beteiligte"


def get_party(request: web.Request) -> tuple[AdvowareState, Party]:
    state: AdvowareState = request.app["advoware"]
    party = state.parties.get(int_param(request, "betNr", "Beteiligter"))
    if party is None:
        raise not_found("Beteiligter")
    return state, party


def _field_value(name: str, value: Any) -> Any:
    if name == "geburtsdatum":
        return datetime_or_none(name, value)
    return str_or_none(name, value)


def persisted_values(state: AdvowareState, body: JsonDict) -> JsonDict:
    """The subset of `body` Advoware keeps; the rest is dropped without error (A7)."""
    values = {n: _field_value(n, body[n]) for n in state.config.party_fields if n in body}
    if "name" in values and not (values["name"] or "").strip():
        raise ApiError(400, "The field 'name' is required.")
    return values


async def get_one(request: web.Request) -> web.Response:
    state, party = get_party(request)
    return web.json_response([party_json(state, party)])


async def search(request: web.Request) -> web.Response:
    """Exact-match search on `name`/`vorname` (DECISIONS 6); other parameters are ignored (A18),
    so a request without them lists every party. Narrowed one filter at a time in a plain
    comprehension: the scan of every party is the simulator's largest cost in a benchmark of
    10,000 parties (each create searches first), and the service's figures should not wait on it."""
    state: AdvowareState = request.app["advoware"]
    parties: Iterable[Party] = state.parties.values()
    for name in ("name", "vorname"):
        if name in request.query:
            wanted = request.query[name]
            parties = [p for p in parties if (p.values.get(name) or "") == wanted]
    return web.json_response([party_json(state, p) for p in parties])


async def create(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    values = persisted_values(state, await read_object(request))
    if "name" not in values:
        raise ApiError(400, "The field 'name' is required.")
    party = state.new_party(values)
    return web.json_response(party_json(state, party), status=201)


async def update(request: web.Request) -> web.Response:
    state, party = get_party(request)
    party.values.update(persisted_values(state, await read_object(request)))
    # A1: a new rowId on every successful PUT, even when nothing changed.
    party.rowId = state.party_row_id(party.betNr)
    party.geaendertAm = state.now_berlin()
    return web.json_response([party_json(state, party)])


async def delete(request: web.Request) -> web.Response:
    # Deletes are forbidden across the API (EXTERNAL_SYSTEMS 0); `/_admin/parties/{betNr}`
    # simulates a deletion made in the desktop client.
    get_party(request)
    raise ApiError(403, "Deleting a Beteiligter is not allowed.")


def add_routes(app: web.Application) -> None:
    app.router.add_get(BASE, search)
    app.router.add_post(BASE, create)
    app.router.add_get(BASE + "/{betNr}", get_one)
    app.router.add_put(BASE + "/{betNr}", update)
    app.router.add_delete(BASE + "/{betNr}", delete)
