"""Bounded time and connections at the HTTP edge, below aiohttp's web layer.

aiohttp bounds idle keep-alive connections (`keepalive_timeout`, also before the first request)
but not a request head that trickles in, nor the number of connections. This module adds:

- a head deadline: from the first byte of a request head until the head is complete; past it
  the connection gets `408` and is closed;
- a connection cap: a new connection over the cap closes the least recently active *idle* one
  (waiting for a request head, like nginx reuses idle keep-alive connections when it runs out),
  so idle or trickling connections cannot lock out `/health` or anyone else. Only when every
  connection has a request in progress (bounded by the body deadline and the handler timeout)
  is the new one answered `503` and closed at once;
- JSON answers for aiohttp's own protocol errors (bad request line or headers), counted, logged
  without a stack trace (attackers must not be able to fill the logs with tracebacks).

It relies on aiohttp's `RequestHandler._waiter` (pending while the connection waits for a
request head) the way aiohttp's own keep-alive check does; tests/engine/test_http_limits.py
exercises each behaviour against the installed aiohttp.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .context import new_trace_id
from .metrics import HTTP_REQUESTS

log = logging.getLogger("bitbylaw.engine.http")
# After an early answer (401, 408, 413) aiohttp reads and drops the rest of the body for this
# long, so the client sees the answer instead of a reset; then the connection is closed.
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class EdgeLimits:
    head_timeout: float = 10.0
    body_timeout: float = 60.0
    keepalive_timeout: float = 75.0
    max_connections: int = 512
    json_max_depth: int = 64
    json_max_number_length: int = 100


def raw_error(status: int, code: str, detail: str) -> bytes:
    """A complete `Connection: close` JSON response, for places with no request object."""
    body = json.dumps({"error": code, "detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nX-Trace-Id: {new_trace_id()}\r\n"
    )
    if status == 503:
        head += "Retry-After: 1\r\n"
    return head.encode() + b"\r\n" + body


_request_counters: dict[tuple[str, str, int], Any] = {}


def count_request(route: str, method: str, status: int) -> None:
    """`bitbylaw_http_requests_total` += 1; the labelled child is looked up once per label set
    (prometheus-client's `labels()` locks and validates on every call)."""
    key = (route, method, status)
    counter = _request_counters.get(key)
    if counter is None:
        counter = _request_counters[key] = HTTP_REQUESTS.labels(route, method, str(status))
    counter.inc()


def count_unrouted(status: int) -> None:
    """A request answered below the router (no route, no method known)."""
    count_request("unmatched", "-", status)


class BoundedRequestHandler(RequestHandler):
    __slots__ = ("_head_timeout", "_head_timer", "last_activity")

    def __init__(self, manager: Any, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self.last_activity = time.monotonic()

    def waiting_for_head(self) -> bool:
        """No request in progress: the connection waits for (the rest of) a request head."""
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.last_activity = time.monotonic()
        if self._head_timer is None:
            if data and self.waiting_for_head():  # bytes came, but not a whole head yet
                self._head_timer = self._loop.call_later(self._head_timeout, self._head_deadline)
        elif not self.waiting_for_head():  # the head is complete: its request runs
            self._cancel_head_timer()

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline(self) -> None:
        self._head_timer = None
        if self.waiting_for_head() and self.transport is not None:
            detail = f"request head not received within {self._head_timeout:g} s"
            self.transport.write(raw_error(408, "request_timeout", detail))
            count_unrouted(408)
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse (or, never expected, an exception
        that escaped the app): JSON like every other refusal, no stack trace in the logs."""
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send an error response")
        count_unrouted(status)
        trace_id = new_trace_id()
        fields = {"status": status, "error_type": type(exc).__name__, "trace_id": trace_id}
        if status >= 500:
            log.error("http protocol error", extra=fields)
            code, detail = "internal_error", f"unexpected error; see logs for trace {trace_id}"
        else:
            log.debug("malformed request", extra=fields)
            code, detail = "bad_request", message or HTTPStatus(status).phrase
        resp = web.json_response(
            {"error": code, "detail": detail}, status=status, headers={"X-Trace-Id": trace_id}
        )
        resp.force_close()
        return resp


class BoundedServer(web.Server):
    """aiohttp's low-level server with the connection cap; builds BoundedRequestHandlers."""

    def __init__(self, *args: Any, limits: EdgeLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.open: dict[BoundedRequestHandler, None] = {}
        self._last_cap_warning = 0.0

    def __call__(self) -> RequestHandler:
        return BoundedRequestHandler(
            self, loop=self._loop, head_timeout=self.limits.head_timeout, **self._kwargs
        )

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        assert isinstance(handler, BoundedRequestHandler)
        if len(self.open) >= self.limits.max_connections and not self._close_an_idle_connection():
            self._warn_cap()
            transport.write(raw_error(503, "too_many_connections", "all connections are busy; retry"))
            count_unrouted(503)
            handler.force_close()
            return
        self.open[handler] = None

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        self.open.pop(handler, None)  # type: ignore[call-overload]
        super().connection_lost(handler, exc)

    def _close_an_idle_connection(self) -> bool:
        idle = [h for h in self.open if h.waiting_for_head()]
        if not idle:
            return False
        victim = min(idle, key=lambda h: h.last_activity)
        del self.open[victim]
        victim.force_close()
        return True

    def _warn_cap(self) -> None:
        now = time.monotonic()
        if now - self._last_cap_warning > 60:
            self._last_cap_warning = now
            log.warning(
                "connection cap reached, refusing connections",
                extra={"max_connections": self.limits.max_connections},
            )


class BoundedAppRunner(web.AppRunner):
    """An AppRunner whose server is a BoundedServer."""

    def __init__(self, app: web.Application, limits: EdgeLimits, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", limits.keepalive_timeout)
        kwargs.setdefault("lingering_time", LINGER_SECONDS)
        super().__init__(app, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # runs the app's start-up, freezes it
        return BoundedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            limits=self._limits,
            **plain._kwargs,
        )
