"""Admin routes the Advoware simulator adds to the shared `/_admin` interface:
`POST /_admin/expire-tokens` (client tests of the 401 → new token → retry path, A17) and
`POST /_admin/snapshot` (write the state to `config.snapshot_path` now)."""

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


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_admin/expire-tokens", expire_tokens)
    app.router.add_post("/_admin/snapshot", snapshot)
