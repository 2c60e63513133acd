"""Assembles the simulator: shared admin/fault core, Google middlewares, API routes under
`/calendar/v3`, the fake token endpoint, admin extras and the optional JSON snapshot."""

from __future__ import annotations

from aiohttp import web

from simulators.common.admin import SimulatorCore, make_simulator_app
from simulators.google.acl import add_acl_routes
from simulators.google.admin_extras import add_admin_extras
from simulators.google.auth import add_token_route
from simulators.google.calendars import add_calendar_routes
from simulators.google.config import GoogleSimConfig
from simulators.google.events import add_event_routes
from simulators.google.instances import add_instances_route
from simulators.google.middleware import api_guard, google_fault_error
from simulators.google.seed import seed
from simulators.google.state import GoogleState

API_BASE = "/calendar/v3"


def build_google_app(config: GoogleSimConfig | None = None) -> web.Application:
    config = config or GoogleSimConfig()
    state = GoogleState(config)
    if config.snapshot_path is not None:
        state.load_snapshot(config.snapshot_path)
    core = SimulatorCore("google", reset=state.reset, seed=lambda body: seed(state, body), dump=state.dump)
    # State at app["google"]; injected faults and every API error in Google's error shape.
    app = make_simulator_app(core, state, fault_error=google_fault_error(API_BASE))
    # Inside the counters, so auth, rate-limit and routing errors are counted.
    app.middlewares.append(api_guard(API_BASE, state))
    add_calendar_routes(app, API_BASE)
    add_acl_routes(app, API_BASE)
    add_event_routes(app, API_BASE)
    add_instances_route(app, API_BASE)
    add_token_route(app)
    add_admin_extras(app)
    if config.snapshot_path is not None:
        app.on_cleanup.append(_save_snapshot)
    return app


async def _save_snapshot(app: web.Application) -> None:
    state: GoogleState = app["google"]
    if state.config.snapshot_path is not None:
        state.save_snapshot(state.config.snapshot_path)
