"""Kommunikation entries (phone, fax, e-mail) of a party.

`POST .../Beteiligte/{betNr}/Kommunikationen` creates, `PUT .../Kommunikationen/{id}` updates
`tlf`, `bemerkung`, `online`; `kommKz` in a PUT body is ignored (A9); DELETE is forbidden (A8).
Every write gives the entry a new rowId (A11) and leaves the party's rowId and `geaendertAm`
alone (A2, A15). The kommKz=0 read quirk (A10) lives in `render.py`.
"""

from __future__ import annotations

from aiohttp import web

from simulators.advoware.fields import boolean, small_int, str_or_none
from simulators.advoware.httputil import ApiError, int_param, not_found, read_object
from simulators.advoware.parties import BASE, get_party
from simulators.advoware.records import JsonDict, KommEntry, Party

PATH = BASE + "/{betNr}/Kommunikationen"


def _entry(request: web.Request, party: Party) -> KommEntry:
    entry_id = int_param(request, "id", "Kommunikation")
    for entry in party.kommunikation:
        if entry.id == entry_id:
            return entry
    raise not_found("Kommunikation")


def _text(name: str, body: JsonDict) -> str:
    return str_or_none(name, body.get(name)) or ""


async def create(request: web.Request) -> web.Response:
    state, party = get_party(request)
    body = await read_object(request)
    if "kommKz" not in body:
        raise ApiError(400, "The field 'kommKz' is required.")
    entry = KommEntry(
        id=state.next_id("komm_id"),
        rowId=state.short_row_id(),
        tlf=_text("tlf", body),
        bemerkung=_text("bemerkung", body),
        kommKz=small_int("kommKz", body["kommKz"], 1, 12),
        online=boolean("online", body.get("online")),
        api_created=True,
    )
    party.kommunikation.append(entry)
    # The write response reports the stored kind; only reads show the kommKz=0 quirk.
    return web.json_response(entry.to_api(entry.kommKz), status=201)


async def update(request: web.Request) -> web.Response:
    state, party = get_party(request)
    entry = _entry(request, party)
    body = await read_object(request)
    if "tlf" in body:
        entry.tlf = _text("tlf", body)
    if "bemerkung" in body:
        entry.bemerkung = _text("bemerkung", body)
    if "online" in body:
        entry.online = boolean("online", body["online"])
    entry.rowId = state.short_row_id()
    return web.json_response(entry.to_api(entry.kommKz))


async def delete(request: web.Request) -> web.Response:
    _, party = get_party(request)
    _entry(request, party)
    raise ApiError(403, "Deleting a Kommunikation is not allowed.")


def add_routes(app: web.Application) -> None:
    app.router.add_post(PATH, create)
    app.router.add_put(PATH + "/{id}", update)
    app.router.add_delete(PATH + "/{id}", delete)
