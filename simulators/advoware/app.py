"""Assembles the Advoware simulator: shared admin/fault layer, auth middleware, resource routes,
seed and snapshot hooks."""

from __future__ import annotations

from aiohttp import web

from simulators.advoware import (
    admin_extra,
    adressen,
    auth,
    bankverbindungen,
    kommunikation,
    parties,
    termine,
)
from simulators.advoware.config import AdvowareSimConfig
from simulators.advoware.httputil import api_middleware
from simulators.advoware.seed import seed_state
from simulators.advoware.state import AdvowareState
from simulators.common.admin import SimulatorCore, make_simulator_app


async def _save_on_cleanup(app: web.Application) -> None:
    state: AdvowareState = app["advoware"]
    if state.config.snapshot_path is not None:
        state.save_snapshot(state.config.snapshot_path)


def build_advoware_app(config: AdvowareSimConfig | None = None) -> web.Application:
    config = config or AdvowareSimConfig()
    state = AdvowareState(config)
    if config.snapshot_path is not None:
        state.load_snapshot(config.snapshot_path)
    core = SimulatorCore(
        "advoware", reset=state.clear_data, seed=lambda body: seed_state(state, body), dump=state.dump
    )
    app = make_simulator_app(core, state)  # state at app["advoware"]
    # Inside the shared middleware, so auth failures are counted and faults still apply first.
    app.middlewares.append(api_middleware(state.tokens))
    for module in (auth, parties, kommunikation, adressen, bankverbindungen, termine, admin_extra):
        module.add_routes(app)
    app.on_cleanup.append(_save_on_cleanup)
    return app
