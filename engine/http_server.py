"""The HTTP edge: aiohttp app serving the http triggers, `/health`, `/metrics`, `/openapi.json`.

Per request, in this order: the trigger's auth check (before the body is read;
signatures on the raw bytes before anything is parsed), the body read within its deadline and
size limit, bounded JSON parsing, query and body validation, then the handler within
`request_timeout`. Every refusal is a 4xx `{"error": ..., "detail": ...}`; anything unexpected
is a JSON 500 naming the trace id, logged once with its stack (frames only, no values). Every
request has a trace id (the caller's W3C `traceparent` continues its trace), bound for every log
line written meanwhile and returned in `X-Trace-Id`; every response is counted in
`bitbylaw_http_requests_total`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import HttpVersion11, web
from aiohttp.web_exceptions import HTTPRequestEntityTooLarge
from aiohttp.web_protocol import RequestPayloadError
from pydantic import ValidationError

from tracecontext import bound, trace_id_from_traceparent

from .backends.base import Backend
from .context import ContextFactory, FlowContext, new_trace_id
from .http_limits import EdgeLimits, count_request
from .json_body import BoundedJson, JsonRefused
from .logs import exception_fields
from .metrics import HANDLER_SECONDS, DeploymentGauges, exposition
from .openapi import build_openapi
from .registry import Step
from .triggers import ApiRequest, ApiResponse, HttpAuth, HttpTrigger

log = logging.getLogger("bitbylaw.engine.http")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Metric labels from a fixed set: a caller must not create label series with invented methods.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
TRACE_ID = "bitbylaw.trace_id"
STEP_NAME = "bitbylaw.step"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


def error(status: int, code: str, detail: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


def closing_error(status: int, code: str, detail: str) -> web.Response:
    """A refusal after which the connection is closed (the rest of the body is not wanted)."""
    response = error(status, code, detail)
    response.force_close()
    return response


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Any) -> web.StreamResponse:
    start = time.perf_counter()
    trace_id = trace_of(request)
    crashed = False
    # Every log line written for this request, by any logger, and every job and outgoing call
    # it causes carry the trace id.
    with bound(trace_id=trace_id):
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
        except web.HTTPException as exc:
            response = error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text)
        except Exception as exc:
            crashed = True
            response = error(500, "internal_error", f"unexpected error; see logs for trace {trace_id}")
            log_crash(request, exc, trace_id)
    response.headers.setdefault("X-Trace-Id", trace_id)
    route = request.match_info.route.resource
    template = route.canonical if route is not None else "unmatched"
    method = request.method if request.method in KNOWN_METHODS else "other"
    count_request(template, method, response.status)
    if response.status >= 500 and not crashed:
        log.warning(
            "http request failed",
            extra={
                "route": template,
                "status": response.status,
                "step": request.get(STEP_NAME),
                "trace_id": trace_id,
                "ms": round((time.perf_counter() - start) * 1000, 1),
            },
        )
    return response


def trace_of(request: web.Request) -> str:
    """The request's trace id: the caller's W3C `traceparent` continues its trace, otherwise a
    new one. Decided once per request (the `Expect` check runs before the middleware)."""
    trace_id = request.get(TRACE_ID)
    if trace_id is None:
        trace_id = trace_id_from_traceparent(request.headers.get("traceparent")) or new_trace_id()
        request[TRACE_ID] = trace_id
    return str(trace_id)


def log_crash(request: web.Request, exc: BaseException, trace_id: str) -> None:
    """One log line per crash with its type and stack (file, line, function of each frame),
    never local values and the message only when the exception declares it safe."""
    route = request.match_info.route.resource
    log.error(
        "http request crashed",
        extra={
            "route": route.canonical if route is not None else "unmatched",
            "status": 500,
            "step": request.get(STEP_NAME),
            "trace_id": trace_id,
            **exception_fields(exc),
        },
    )


class HttpApp:
    def __init__(
        self,
        backend: Backend,
        steps: Sequence[Step],
        *,
        max_body: int = 1024 * 1024,
        request_timeout: float = 60.0,
        limits: EdgeLimits | None = None,
        health_checks: Sequence[HealthCheck] = (),
        dead_letter_threshold: int = 1,
        queues: Sequence[str] = (),
        resources: dict[str, Any] | None = None,
        gauges: DeploymentGauges | None = None,
        api_info: dict[str, str] | None = None,
    ) -> None:
        self.backend = backend
        self.steps = list(steps)
        self.queues = list(queues)
        self.resources = resources if resources is not None else {}
        self.gauges = gauges
        self.contexts = ContextFactory(backend, steps, self.resources)
        self.max_body = max_body
        self.request_timeout = request_timeout
        self.limits = limits or EdgeLimits()
        self.json = BoundedJson(self.limits.json_max_depth, self.limits.json_max_number_length)
        self.health_checks = list(health_checks)
        self.dead_letter_threshold = dead_letter_threshold
        self.openapi_doc = build_openapi(steps, **(api_info or {}))
        self._openapi_bytes = json.dumps(self.openapi_doc, indent=1).encode()
        self.app = web.Application(middlewares=[errors_and_metrics], client_max_size=max_body)
        plain = self._expect_handler(None, None)
        self.app.router.add_get("/health", self.health, expect_handler=plain)
        self.app.router.add_get("/metrics", self.metrics, expect_handler=plain)
        self.app.router.add_get("/openapi.json", self.openapi, expect_handler=plain)
        for step in steps:
            for trigger in step.triggers_of(HttpTrigger):
                self.app.router.add_route(
                    trigger.method,
                    trigger.path,
                    self._endpoint(step, trigger),
                    expect_handler=self._expect_handler(step, trigger),
                )

    def _expect_handler(
        self, step: Step | None, trigger: HttpTrigger | None
    ) -> Callable[[web.Request], Awaitable[None]]:
        """`Expect: 100-continue` makes a client wait before it sends its body: "continue" goes only
        to a caller whose key is good, anyone else gets the endpoint's 401 at once and never sends
        the body. Other expectations are ignored (RFC 9110 allows it), so no plain-text 417."""
        auth = trigger.auth if trigger is not None else None

        async def expect(request: web.Request) -> None:
            if (
                request.version != HttpVersion11
                or request.headers.get("Expect", "").lower() != "100-continue"
            ):
                return
            if step is not None and trigger is not None and auth is not None and not auth.over_body:
                trace_id = trace_of(request)
                ctx = self.contexts.make(step, trigger, trace_id)
                with bound(trace_id=trace_id, step=step.name):
                    if not await passes(auth, request_view(request), ctx):
                        return  # no "100 Continue": the endpoint answers 401 without reading the body
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # the response proper has not started

        return expect

    def _endpoint(self, step: Step, trigger: HttpTrigger) -> Callable[[web.Request], Awaitable[web.Response]]:
        auth = trigger.auth
        handler_seconds = HANDLER_SECONDS.labels(step.name, "http")

        async def endpoint(request: web.Request) -> web.Response:
            trace_id = request[TRACE_ID]
            request[STEP_NAME] = step.name
            with bound(step=step.name):
                ctx = self.contexts.make(step, trigger, trace_id)
                api = request_view(request)
                if auth is not None and not auth.over_body and not await passes(auth, api, ctx):
                    return closing_error(401, auth.error, auth.detail)  # body never read
                raw = await self.read_body(request)
                if isinstance(raw, web.Response):
                    return raw
                api.raw_body = raw
                if auth is not None and auth.over_body and not await passes(auth, api, ctx):
                    return error(401, auth.error, auth.detail)
                refusal = self.parse(request, trigger, api)
                if refusal is not None:
                    return refusal
                start = time.perf_counter()
                deadline = asyncio.timeout(self.request_timeout)
                try:
                    async with deadline:
                        result = await step.handler(api, ctx)
                except TimeoutError:
                    if not deadline.expired():
                        raise  # the handler's own timeout, not ours: a crash like any other
                    return error(504, "timeout", f"handler did not answer in time (trace {trace_id})")
                finally:
                    handler_seconds.observe(time.perf_counter() - start)
                return to_response(result)

        return endpoint

    async def read_body(self, request: web.Request) -> bytes | web.Response:
        """The raw body within the body deadline and size limit, or the refusal."""
        if not request.body_exists:
            return b""
        limit = self.max_body
        if request.content_length is not None and request.content_length > limit:
            return closing_error(413, "body_too_large", f"request body larger than {limit} bytes")
        timeout = self.limits.body_timeout
        try:
            if request.content.is_eof():  # all of it is here already: no deadline to arm
                return await request.read()
            async with asyncio.timeout(timeout):
                return await request.read()
        except TimeoutError:
            return closing_error(408, "request_timeout", f"request body not received within {timeout:g} s")
        except HTTPRequestEntityTooLarge:  # chunked: no Content-Length to check up front
            return closing_error(413, "body_too_large", f"request body larger than {limit} bytes")
        except (ConnectionError, RequestPayloadError):
            return closing_error(400, "incomplete_body", "the request body ended early or is malformed")

    async def read_form(self, request: web.Request, max_fields: int = 50) -> dict[str, str] | web.Response:
        """The fields of an HTML form post (`application/x-www-form-urlencoded`), read within the
        body deadline and size limit like every body, strictly UTF-8, at most `max_fields` fields
        (the first of a repeated name counts); or the refusal in the edge's shape. For routes an
        extension mounts (the JSON steps never take forms)."""
        raw = await self.read_body(request)
        if isinstance(raw, web.Response):
            return raw
        if raw and request.content_type != FORM_CONTENT_TYPE:
            return error(
                415,
                "unsupported_media_type",
                f"expected Content-Type {FORM_CONTENT_TYPE}, got {request.content_type!r}",
            )
        try:
            pairs = parse_qsl(
                raw.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields, errors="strict"
            )
        except UnicodeDecodeError:
            return error(400, "invalid_form", "the form is not UTF-8")
        except ValueError:
            return error(400, "invalid_form", f"more than {max_fields} form fields")
        form: dict[str, str] = {}
        for name, value in pairs:
            form.setdefault(name, value)
        return form

    def parse(self, request: web.Request, trigger: HttpTrigger, api: ApiRequest) -> web.Response | None:
        """Parse and validate into `api.body` / `api.params`; the refusal if that fails."""
        body: Any = None
        if api.raw_body and request.method in BODY_METHODS:
            if request.content_type != "application/json":
                return error(
                    415,
                    "unsupported_media_type",
                    f"expected Content-Type application/json, got {request.content_type!r}",
                )
            try:
                body = self.json.loads(api.raw_body)
            except JsonRefused as exc:
                return error(400, exc.code, exc.detail)
        if trigger.query is not None:
            try:
                api.params = trigger.query.model_validate(api.query)
            except ValidationError as exc:
                return error(422, "validation_failed", validation_details(exc, "query"))
        if trigger.body is not None and (body is not None or trigger.body_required):
            if body is None:
                return error(400, "missing_body", "a JSON body is required")
            try:
                body = trigger.body.model_validate(body)
            except ValidationError as exc:
                return error(trigger.invalid_status, "validation_failed", validation_details(exc))
        api.body = body
        return None

    async def openapi(self, _: web.Request) -> web.Response:
        return web.Response(body=self._openapi_bytes, content_type="application/json")

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


def request_view(request: web.Request) -> ApiRequest:
    """What the handler (and the auth check) sees; the body is filled in after the checks."""
    query = request.query
    return ApiRequest(
        method=request.method,
        path=request.path,
        path_params=dict(request.match_info),
        query={k: v for k, v in query.items()},
        query_all={k: query.getall(k) for k in query},
        headers={k.lower(): v for k, v in request.headers.items()},
        body=None,
        raw_body=b"",
        remote=request.remote,
    )


async def passes(auth: HttpAuth, request: ApiRequest, ctx: FlowContext) -> bool:
    verdict = auth.check(request, ctx)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return bool(verdict)


def validation_details(exc: ValidationError, prefix: str | None = None) -> list[dict[str, Any]]:
    where = [prefix] if prefix else []
    return [{"loc": [*where, *e["loc"]], "msg": e["msg"]} for e in exc.errors(include_input=False)]


def to_response(result: Any) -> web.Response:
    if not isinstance(result, ApiResponse):
        result = ApiResponse(200, result)
    if isinstance(result.body, bytes):
        return web.Response(body=result.body, status=result.status, headers=result.headers)
    body = _ENCODER.encode(result.body).encode()
    return web.Response(
        body=body, status=result.status, headers=result.headers, content_type="application/json"
    )


# One encoder for all answers; ASCII escapes, so a lone surrogate from a caller's JSON
# (`"\\ud800"`) cannot crash the answer.
_ENCODER = json.JSONEncoder(default=str)
