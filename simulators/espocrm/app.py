"""Assembles the EspoCRM simulator app: shared admin layer, auth, API routes, admin extras, and
the webhook sender as a background task tied to the app's lifetime."""

from __future__ import annotations

from aiohttp import web

from simulators.common.admin import SimulatorCore, make_simulator_app

from .admin_extras import add_admin_extras
from .api import add_api_routes
from .auth import auth_middleware
from .config import EspoSimConfig
from .simulator import EspoSimulator


def build_espocrm_app(config: EspoSimConfig | None = None) -> web.Application:
    sim = EspoSimulator(config or EspoSimConfig())
    core = SimulatorCore("espocrm", reset=sim.reset, seed=sim.seed, dump=sim.dump)
    app = make_simulator_app(core, sim)  # sim at app["espocrm"]
    # After the fault middleware, so 401s are counted and faults hit unauthenticated calls too.
    app.middlewares.append(auth_middleware(sim.store))
    add_api_routes(app, sim.store)
    add_admin_extras(app, sim)

    async def start_sender(_: web.Application) -> None:
        await sim.sender.start()

    async def stop_sender(_: web.Application) -> None:
        await sim.sender.stop()
        sim.save_snapshot()

    app.on_startup.append(start_sender)
    app.on_cleanup.append(stop_sender)
    return app
