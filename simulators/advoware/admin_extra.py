"""Admin routes the Advoware simulator adds to the shared `/_admin` interface:
`POST /_admin/expire-tokens` (client tests of the 401 → new token → retry path, A17) and
`POST /_admin/snapshot` (write the state to `config.snapshot_path` now) and
`DELETE /_admin/parties/{betNr}` (a user deletes the party in Advoware's desktop client, which the
API cannot do; afterwards the API answers 404 for it, A6)."""

from __future__ import annotations

from aiohttp import web

from simulators.advoware.state import AdvowareState


async def expire_tokens(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    return web.json_response({"expired": state.tokens.expire_all()})


async def snapshot(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    path = state.config.snapshot_path
    if path is None:
        return web.json_response({"message": "no snapshot_path configured"}, status=409)
    state.save_snapshot(path)
    return web.json_response({"path": str(path), "parties": len(state.parties)})


async def delete_party(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    try:
        bet_nr = int(request.match_info["betNr"])
    except ValueError:
        bet_nr = -1
    if state.parties.pop(bet_nr, None) is None:
        return web.json_response({"message": "Beteiligter not found"}, status=404)
    return web.json_response({"deleted": bet_nr})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_admin/expire-tokens", expire_tokens)
    app.router.add_post("/_admin/snapshot", snapshot)
    app.router.add_delete("/_admin/parties/{betNr}", delete_party)
