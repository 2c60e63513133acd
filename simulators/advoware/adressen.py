"""Postal addresses of a party, addressed by their unstable `reihenfolgeIndex`.

POST accepts all 11 fields; PUT changes only the writable "main address fields" and ignores the
rest with 2xx (A12); DELETE → 403. The index is the 1-based position in the list ordered main
address first, then creation order, recomputed on every create, so an index looked up before
another create can name a different address afterwards (A13). A new main address takes the
`standardAnschrift` flag from the previous one: Advoware keeps one main address [proposal].
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.advoware.fields import boolean, datetime_or_none, str_or_none
from simulators.advoware.httputil import ApiError, int_param, not_found, read_object
from simulators.advoware.parties import BASE, get_party
from simulators.advoware.records import Address, JsonDict, Party
from simulators.advoware.render import addresses_json

PATH = BASE + "/{betNr}/Adressen"


def _value(name: str, value: Any) -> Any:
    if name == "standardAnschrift":
        return boolean(name, value)
    if name in ("gueltigVon", "gueltigBis"):
        return datetime_or_none(name, value)
    return str_or_none(name, value)


def _by_index(request: web.Request, party: Party) -> tuple[int, Address]:
    index = int_param(request, "index", "Adresse")
    ordered = party.ordered_addresses()
    if not 1 <= index <= len(ordered):
        raise not_found("Adresse")
    return index, ordered[index - 1]


def _index_of(party: Party, address: Address) -> int:
    return party.ordered_addresses().index(address) + 1


async def list_addresses(request: web.Request) -> web.Response:
    _, party = get_party(request)
    return web.json_response(addresses_json(party))


async def create(request: web.Request) -> web.Response:
    state, party = get_party(request)
    body = await read_object(request)
    values: JsonDict = {name: _value(name, body.get(name)) for name in state.config.address_fields}
    if values.get("standardAnschrift"):
        for other in party.adressen:
            other.values["standardAnschrift"] = False
    address = Address(state.next_id("address_id"), state.short_row_id(), state.next_id("address_seq"), values)
    party.adressen.append(address)
    return web.json_response(address.to_api(_index_of(party, address)), status=201)


async def update(request: web.Request) -> web.Response:
    state, party = get_party(request)
    index, address = _by_index(request, party)
    body = await read_object(request)
    for name in state.config.address_writable_fields:
        if name in body:
            address.values[name] = _value(name, body[name])
    address.rowId = state.short_row_id()
    return web.json_response(address.to_api(index))


async def delete(request: web.Request) -> web.Response:
    _, party = get_party(request)
    _by_index(request, party)
    raise ApiError(403, "Deleting an Adresse is not allowed.")


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, list_addresses)
    app.router.add_post(PATH, create)
    app.router.add_put(PATH + "/{index}", update)
    app.router.add_delete(PATH + "/{index}", delete)
