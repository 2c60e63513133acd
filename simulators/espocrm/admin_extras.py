"""EspoCRM-specific admin routes on top of the shared `/_admin` interface:

- `POST /_admin/as-user` `{"userId": "user-anna"}` acts as that (human) user from now on;
  `{"userId": null}` goes back to the API user.
- `GET  /_admin/webhooks` subscriptions, queue, finished items and deliveries (status codes).
- `POST /_admin/webhooks/flush` sends every pending item now (retries included).
- `POST /_admin/snapshot` writes the snapshot file (400 when no `snapshot_path` is configured).
"""

from __future__ import annotations

from aiohttp import web

from simulators.common.admin import json_object

from .simulator import EspoSimulator

SIM_KEY = web.AppKey("espocrm_simulator", EspoSimulator)


async def as_user(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    user = (await json_object(request)).get("userId")
    sim.store.acting_user = str(user) if user else None
    return web.json_response({"actingUser": sim.store.acting_user or sim.config.api_user_id})


async def webhooks(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    subscriptions = list(sim.tables["Webhook"].values())
    return web.json_response({"subscriptions": subscriptions, **sim.webhooks.snapshot()})


async def flush(request: web.Request) -> web.Response:
    deliveries = await request.app[SIM_KEY].sender.flush()
    return web.json_response({"deliveries": deliveries})


async def save_snapshot(request: web.Request) -> web.Response:
    result = request.app[SIM_KEY].save_snapshot()
    if result is None:
        return web.json_response({"message": "no snapshot_path configured"}, status=400)
    return web.json_response(result)


def add_admin_extras(app: web.Application, sim: EspoSimulator) -> None:
    app[SIM_KEY] = sim
    app.router.add_post("/_admin/as-user", as_user)
    app.router.add_get("/_admin/webhooks", webhooks)
    app.router.add_post("/_admin/webhooks/flush", flush)
    app.router.add_post("/_admin/snapshot", save_snapshot)
