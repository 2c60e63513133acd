"""One HTTP exchange: rate limit, timeout, JSON body handling, counting and logging.

No retries and no status mapping here (that is `base.py`). Log lines carry the system, method,
route TEMPLATE, status, duration and attempt only: never URLs with ids, query strings, headers
or bodies, which can hold tokens and personal data (DECISIONS 17).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import aiohttp
from yarl import URL

from services.clients.calls import CallRecord, kind_of, record_call
from services.clients.errors import TransportError
from services.clients.ratelimit import TokenBucket
from services.clients.session import SessionSource, as_holder
from tracecontext import outgoing_traceparent

log = logging.getLogger("bitbylaw.clients")


class RawResponse(NamedTuple):
    """Status, headers and body (parsed JSON, text, or None when empty)."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str  # absolute, path segments already percent-encoded
    route: str  # template: the only form of the path that is logged or counted
    params: Sequence[tuple[str, str]] | None = None
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    data: bool = True  # False for token requests and notifications (DECISIONS 11)
    form: Mapping[str, str] | None = None  # form-encoded body (OAuth token endpoints)

    def with_headers(self, extra: Mapping[str, str]) -> HttpRequest:
        return replace(self, headers={**self.headers, **extra})


class Transport:
    def __init__(self, system: str, session: SessionSource, timeout_s: float, limiter: TokenBucket) -> None:
        self.system = system
        self._holder = as_holder(session)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._limiter = limiter

    async def send(self, req: HttpRequest, attempt: int = 1) -> RawResponse:
        await self._limiter.acquire()
        session = await self._holder.get()
        started = time.monotonic()
        status = "connection_error"
        try:
            response = await self._exchange(session, req)
            status = str(response.status)
            return response
        except asyncio.CancelledError:
            status = "cancelled"  # the caller gave up (shutdown, step timeout): not a server fault
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            status = "timeout"  # the connection was never made: nothing was sent
            raise self._transport_error(req, "connect timeout", not_sent=True) from exc
        except TimeoutError as exc:
            status = "timeout"
            raise self._transport_error(req, "timeout", not_sent=False) from exc
        except aiohttp.ClientConnectorError as exc:
            raise self._transport_error(req, "connection failed", not_sent=True) from exc
        except aiohttp.ClientError as exc:
            raise self._transport_error(req, f"connection error ({type(exc).__name__})") from exc
        finally:
            self._account(req, status, time.monotonic() - started, attempt)

    async def _exchange(self, session: aiohttp.ClientSession, req: HttpRequest) -> RawResponse:
        headers = dict(req.headers)
        traceparent = outgoing_traceparent()  # the job's / request's trace continues upstream
        if traceparent is not None:
            headers["traceparent"] = traceparent
        kwargs: dict[str, Any] = {"headers": headers, "timeout": self._timeout}
        if req.params:
            kwargs["params"] = list(req.params)
        if req.json_body is not None:
            kwargs["json"] = req.json_body
        elif req.form is not None:
            kwargs["data"] = dict(req.form)
        async with session.request(req.method, URL(req.url, encoded=True), **kwargs) as resp:
            raw = await resp.read()
            return RawResponse(resp.status, dict(resp.headers), _decode(raw, resp.content_type))

    def _transport_error(self, req: HttpRequest, what: str, *, not_sent: bool = False) -> TransportError:
        return TransportError(self.system, req.method, req.route, what, not_sent=not_sent)

    def _account(self, req: HttpRequest, status: str, duration: float, attempt: int) -> None:
        record_call(
            CallRecord(self.system, req.method, req.route, status, kind_of(req.method), req.data, duration)
        )
        level = logging.DEBUG if status.isdigit() and int(status) < 400 else logging.INFO
        if not log.isEnabledFor(level):  # the hot path: no `extra` dict for a dropped line
            return
        log.log(
            level,
            "%s %s %s -> %s in %.0f ms (attempt %d)",
            self.system, req.method, req.route, status, duration * 1000, attempt,
            extra={
                "system": self.system, "method": req.method, "route": req.route,
                "status": status, "duration_ms": round(duration * 1000, 1), "attempt": attempt,
            },
        )  # fmt: skip


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
