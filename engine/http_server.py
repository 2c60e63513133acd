"""The HTTP edge: aiohttp app serving the http triggers, `/health` and `/metrics`.

JSON in and out. Bad input gets a 4xx with `{"error": ..., "detail": ...}`; a handler crash gets
a 500 naming only the trace id — never a stack trace. Each request gets a trace id (returned in
`X-Trace-Id`) that travels with every job it enqueues.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from tracecontext import bound, trace_id_from_traceparent

from .backends.base import Backend
from .context import ContextFactory, new_trace_id
from .metrics import HANDLER_SECONDS, HTTP_REQUESTS, DeploymentGauges, exposition
from .registry import Step
from .triggers import ApiRequest, ApiResponse, HttpTrigger

log = logging.getLogger("bitbylaw.engine.http")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


def error(status: int, code: str, detail: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Any) -> web.StreamResponse:
    start = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = error(404, "not_found", f"no route for {request.method} {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        response = error(
            405,
            "method_not_allowed",
            f"allowed: {sorted(exc.allowed_methods)}",
            {"Allow": ",".join(sorted(exc.allowed_methods))},
        )
    except web.HTTPRequestEntityTooLarge:
        limit = request.app._client_max_size
        response = error(413, "body_too_large", f"request body larger than {limit} bytes")
    except web.HTTPException as exc:
        response = error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text)
    route = request.match_info.route.resource
    template = route.canonical if route is not None else "unmatched"
    HTTP_REQUESTS.labels(template, request.method, str(response.status)).inc()
    if response.status >= 500:
        log.warning(
            "http request failed",
            extra={
                "route": template,
                "status": response.status,
                "ms": round((time.perf_counter() - start) * 1000, 1),
            },
        )
    return response


class HttpApp:
    def __init__(
        self,
        backend: Backend,
        steps: Sequence[Step],
        *,
        max_body: int = 1024 * 1024,
        request_timeout: float = 60.0,
        health_checks: Sequence[HealthCheck] = (),
        dead_letter_threshold: int = 1,
        queues: Sequence[str] = (),
        resources: dict[str, Any] | None = None,
        gauges: DeploymentGauges | None = None,
    ) -> None:
        self.backend = backend
        self.gauges = gauges
        self.contexts = ContextFactory(backend, steps, resources)
        self.request_timeout = request_timeout
        self.health_checks = list(health_checks)
        self.dead_letter_threshold = dead_letter_threshold
        self.queues = list(queues)
        self.app = web.Application(middlewares=[errors_and_metrics], client_max_size=max_body)
        self.app.router.add_get("/health", self.health)
        self.app.router.add_get("/metrics", self.metrics)
        for step in steps:
            for trigger in step.triggers_of(HttpTrigger):
                self.app.router.add_route(trigger.method, trigger.path, self._endpoint(step, trigger))

    def _endpoint(self, step: Step, trigger: HttpTrigger) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            # A caller's W3C traceparent continues its trace; every log line and job of this
            # request, and every outgoing call, carries the trace id.
            trace_id = trace_id_from_traceparent(request.headers.get("traceparent")) or new_trace_id()
            with bound(trace_id=trace_id, step=step.name):
                parsed = await parse_request(request, trigger)
                if isinstance(parsed, web.Response):
                    return parsed
                ctx = self.contexts.make(step, trigger, trace_id)
                logger = ctx.logger
                start = time.perf_counter()
                try:
                    result = await asyncio.wait_for(step.handler(parsed, ctx), self.request_timeout)
                except TimeoutError:
                    logger.error("http handler timed out")
                    return error(504, "timeout", f"handler did not answer in time (trace {trace_id})")
                except Exception as exc:
                    logger.error("http handler failed", exc_info=exc, error_type=type(exc).__name__)
                    return error(500, "internal_error", f"see logs for trace {trace_id}")
                finally:
                    HANDLER_SECONDS.labels(step.name, "http").observe(time.perf_counter() - start)
                return to_response(result, trace_id)

        return endpoint

    async def health(self, _: web.Request) -> web.Response:
        body: dict[str, Any] = {"status": "ok", "backend": {"name": self.backend.name}}
        try:
            latency = await self.backend.ping()
            stats = await self.backend.queue_stats(self.queues)
        except Exception as exc:
            body["status"] = "down"
            body["backend"].update(reachable=False, error=type(exc).__name__)
            return web.json_response(body, status=503)
        dead = sum(s.dead for s in stats)
        body["backend"].update(reachable=True, latency_ms=round(latency * 1000, 2))
        body["queues"] = {
            "depth": sum(s.depth for s in stats),
            "in_flight": sum(s.in_flight for s in stats),
            "delayed": sum(s.delayed for s in stats),
            "dead": dead,
        }
        if dead >= self.dead_letter_threshold:
            body["status"] = "degraded"
        for check in self.health_checks:
            extra = await check()
            if extra.pop("degraded", False):
                body["status"] = "degraded"
            body.update(extra)
        return web.json_response(body)

    async def metrics(self, _: web.Request) -> web.Response:
        if self.gauges is not None:
            await self.gauges.refresh()  # queue and cron gauges: one process per deployment
        body, content_type = exposition()
        resp = web.Response(body=body)
        resp.content_type = content_type
        return resp


async def parse_request(request: web.Request, trigger: HttpTrigger) -> ApiRequest | web.Response:
    raw = await request.read()
    body: Any = None
    if raw and request.method in BODY_METHODS:
        if request.content_type != "application/json":
            return error(
                415,
                "unsupported_media_type",
                f"expected Content-Type application/json, got {request.content_type!r}",
            )
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return error(
                400, "invalid_json", f"body is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}"
            )
    if trigger.body is not None:
        if body is None:
            return error(400, "missing_body", "a JSON body is required")
        try:
            body = trigger.body.model_validate(body)
        except ValidationError as exc:
            details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            return error(422, "validation_failed", details)
    return ApiRequest(
        method=request.method,
        path=request.path,
        path_params=dict(request.match_info),
        query={k: v for k, v in request.query.items()},
        query_all={k: request.query.getall(k) for k in request.query},
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        raw_body=raw,
        remote=request.remote,
    )


def to_response(result: Any, trace_id: str) -> web.Response:
    if not isinstance(result, ApiResponse):
        result = ApiResponse(200, result)
    headers = {"X-Trace-Id": trace_id, **result.headers}
    if isinstance(result.body, bytes):
        return web.Response(body=result.body, status=result.status, headers=headers)
    return web.json_response(
        result.body,
        status=result.status,
        headers=headers,
        dumps=lambda o: json.dumps(o, default=str, ensure_ascii=False),
    )
