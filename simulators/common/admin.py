"""The `/_admin` interface and fault injection shared by every simulator.

Each simulator builds an aiohttp app with `make_simulator_app(core, ...)`. The core counts every
call by (method, route template, status), injects faults configured at run time, and serves:

- `GET  /_admin/calls`   counts per method, route template and status
- `GET  /_admin/traces`  the last calls that carried a W3C `traceparent` header, with it
- `POST /_admin/reset`   empty state, counters and faults
- `POST /_admin/seed`    generated data (body is simulator-specific)
- `POST /_admin/faults`  configure faults (body below); `DELETE /_admin/faults` clears them
- `GET  /_admin/state`   the whole in-memory state as JSON

Fault body: `{"latency_ms": 0, "error_rate": 0.0, "error_status": 503, "seed": 1,
"rules": [{"method": "POST", "route": "*/Beteiligte", "status": 503, "count": 2,
"after_write": false, "latency_ms": 0, "rate": 1.0, "drop_field": null}]}`.
A rule matches when its method is `*` or equal and its `route` glob matches the route template
or the concrete path. `count` fails the next N matching calls (None = forever, with `rate`
as probability). `after_write` runs the real handler first and then answers with the error:
the write happened but its response is lost (DECISIONS 5). `drop_field` removes a top-level
field (or the field of each list item) from a successful JSON response. `latency_after_ms`
delays the answer after the handler ran (a process can be killed after the write). `body` with
`"status": null` answers 200 with that JSON instead of running the handler (a listing that
suddenly comes back empty).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import warnings
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JsonDict = dict[str, Any]
TRACE_LOG_LIMIT = 1000  # a sandbox runs for days: the trace log is bounded
# Renders an injected fault (request, status, message) in the simulator's error shape.
FaultError = Callable[[web.Request, int, str], web.StreamResponse]


@dataclass
class FaultRule:
    method: str = "*"
    route: str = "*"
    status: int | None = 503
    count: int | None = None
    after_write: bool = False
    latency_ms: float = 0.0
    rate: float = 1.0
    drop_field: str | None = None
    latency_after_ms: float = 0.0  # sleep after the handler ran: the write is done, the answer late
    body: Any = None  # with status None: this JSON instead of the handler's answer

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return fnmatch.fnmatchcase(template, self.route) or fnmatch.fnmatchcase(path, self.route)


@dataclass
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    rules: list[FaultRule] = field(default_factory=list)


class SimulatorCore:
    """Counters, faults and the admin hooks of one simulator. `reset`, `seed` and `dump` are
    provided by the simulator (they own the domain state)."""

    def __init__(
        self,
        name: str,
        reset: Callable[[], None],
        seed: Callable[[JsonDict], JsonDict],
        dump: Callable[[], JsonDict],
    ) -> None:
        self.name = name
        self._reset, self._seed, self._dump = reset, seed, dump
        self.calls: Counter[tuple[str, str, int]] = Counter()
        self.traces: deque[JsonDict] = deque(maxlen=TRACE_LOG_LIMIT)
        self.faults = Faults()
        self.rng = random.Random(1)

    def reset(self) -> None:
        self._reset()
        self.calls.clear()
        self.traces.clear()
        self.faults = Faults()

    def calls_json(self) -> JsonDict:
        items = [
            {"method": m, "route": r, "status": s, "count": n} for (m, r, s), n in sorted(self.calls.items())
        ]
        return {"total": sum(self.calls.values()), "calls": items}

    def set_faults(self, body: JsonDict) -> None:
        rules = [FaultRule(**r) for r in body.get("rules", [])]
        self.faults = Faults(
            latency_ms=float(body.get("latency_ms", 0.0)),
            error_rate=float(body.get("error_rate", 0.0)),
            error_status=int(body.get("error_status", 503)),
            rules=rules,
        )
        if "seed" in body:
            self.rng = random.Random(body["seed"])

    def pick_rule(self, method: str, template: str, path: str) -> FaultRule | None:
        """The first matching rule that fires now; consumes one of its `count`."""
        for rule in self.faults.rules:
            if not rule.matches(method, template, path):
                continue
            if rule.count is not None:
                if rule.count <= 0:
                    continue
                rule.count -= 1
                return rule
            if self.rng.random() < rule.rate:
                return rule
        return None


async def json_object(request: web.Request) -> JsonDict:
    """An admin request's JSON object body; no body or anything but an object gives `{}`."""
    if not request.can_read_body:
        return {}
    data = await request.json()
    return data if isinstance(data, dict) else {}


def route_template(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else request.path


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def _plain_fault(_request: web.Request, status: int, message: str) -> web.StreamResponse:
    return error_response(status, message)


def _drop_field(response: web.StreamResponse, name: str) -> web.StreamResponse:
    if not isinstance(response, web.Response) or response.content_type != "application/json":
        return response
    if response.body is None or not isinstance(response.body, bytes | bytearray):
        return response
    data = json.loads(response.body)
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            item.pop(name, None)
    return web.json_response(data, status=response.status)


def fault_middleware(core: SimulatorCore, fault_error: FaultError = _plain_fault) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_admin"):
            return await handler(request)
        template = route_template(request)
        response = await _with_faults(core, request, handler, template, fault_error)
        core.calls[(request.method, template, response.status)] += 1
        traceparent = request.headers.get("traceparent")
        if traceparent:
            core.traces.append(
                {
                    "method": request.method,
                    "route": template,
                    "status": response.status,
                    "traceparent": traceparent,
                }
            )
        return response

    return middleware


async def _with_faults(
    core: SimulatorCore, request: web.Request, handler: Handler, template: str, fault_error: FaultError
) -> web.StreamResponse:
    faults = core.faults
    rule = core.pick_rule(request.method, template, request.path)
    latency = faults.latency_ms + (rule.latency_ms if rule else 0.0)
    if latency:
        await asyncio.sleep(latency / 1000)
    if rule is None and faults.error_rate and core.rng.random() < faults.error_rate:
        return fault_error(request, faults.error_status, "injected fault")
    if rule is not None and rule.status is not None and not rule.after_write:
        return fault_error(request, rule.status, "injected fault")
    if rule is not None and rule.status is None and rule.body is not None:
        return web.json_response(rule.body)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    if rule is not None and rule.latency_after_ms:
        await asyncio.sleep(rule.latency_after_ms / 1000)
    if rule is not None and rule.status is not None and rule.after_write:
        return fault_error(request, rule.status, "injected fault after write (response lost)")
    if rule is not None and rule.drop_field and 200 <= response.status < 300:
        return _drop_field(response, rule.drop_field)
    return response


def add_admin_routes(app: web.Application, core: SimulatorCore) -> None:
    async def calls(_: web.Request) -> web.Response:
        return web.json_response(core.calls_json())

    async def traces(_: web.Request) -> web.Response:
        return web.json_response({"traces": list(core.traces)})

    async def reset(_: web.Request) -> web.Response:
        core.reset()
        return web.json_response({"status": "reset"})

    async def seed(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        return web.json_response(core._seed(body or {}))

    async def set_faults(request: web.Request) -> web.Response:
        core.set_faults(await request.json())
        return web.json_response({"status": "ok"})

    async def clear_faults(_: web.Request) -> web.Response:
        core.faults = Faults()
        return web.json_response({"status": "ok"})

    async def state(_: web.Request) -> web.Response:
        return web.json_response(core._dump())

    app.router.add_get("/_admin/calls", calls)
    app.router.add_get("/_admin/traces", traces)
    app.router.add_post("/_admin/reset", reset)
    app.router.add_post("/_admin/seed", seed)
    app.router.add_post("/_admin/faults", set_faults)
    app.router.add_delete("/_admin/faults", clear_faults)
    app.router.add_get("/_admin/state", state)


def make_simulator_app(
    core: SimulatorCore,
    state: object = None,
    fault_error: FaultError = _plain_fault,
    max_body: int = 10 * 1024 * 1024,
) -> web.Application:
    """An aiohttp app with counting, fault injection and the admin routes mounted, the core at
    `app["core"]` and the simulator's `state` (if any) at `app[core.name]`. The simulator adds its own
    routes afterwards. `fault_error` renders injected faults in the simulator's error shape."""
    app = web.Application(middlewares=[fault_middleware(core, fault_error)], client_max_size=max_body)
    add_admin_routes(app, core)
    with warnings.catch_warnings():
        # Plain string keys are the documented interface (tests, sandbox); aiohttp prefers AppKey.
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["core"] = core
        if state is not None:
            app[core.name] = state
    return app
