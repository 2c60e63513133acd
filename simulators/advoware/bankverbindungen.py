"""Bank accounts of a party: list and create only. PUT and DELETE answer 403 (A14, open point
12). The IBAN is stored as sent (no normalisation), so a client's lookup by IBAN must normalise
both sides."""

from __future__ import annotations

from aiohttp import web

from simulators.advoware.fields import str_or_none
from simulators.advoware.httputil import ApiError, int_param, not_found, read_object
from simulators.advoware.parties import BASE, get_party
from simulators.advoware.records import BankAccount

PATH = BASE + "/{betNr}/Bankverbindungen"
FIELDS = ("iban", "bic", "bank", "kontoinhaber", "bemerkung")


async def list_accounts(request: web.Request) -> web.Response:
    _, party = get_party(request)
    return web.json_response([a.to_api() for a in party.bankverbindungen])


async def create(request: web.Request) -> web.Response:
    state, party = get_party(request)
    body = await read_object(request)
    values = {name: str_or_none(name, body.get(name)) for name in FIELDS}
    if not (values["iban"] or "").strip():
        raise ApiError(400, "The field 'iban' is required.")
    account = BankAccount(state.next_id("bank_id"), state.short_row_id(), values)
    party.bankverbindungen.append(account)
    return web.json_response(account.to_api(), status=201)


async def forbidden(request: web.Request) -> web.Response:
    _, party = get_party(request)
    account_id = int_param(request, "id", "Bankverbindung")
    if not any(a.id == account_id for a in party.bankverbindungen):
        raise not_found("Bankverbindung")
    raise ApiError(403, "Changing or deleting a Bankverbindung is not allowed.")


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, list_accounts)
    app.router.add_post(PATH, create)
    app.router.add_put(PATH + "/{id}", forbidden)
    app.router.add_delete(PATH + "/{id}", forbidden)
