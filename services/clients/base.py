"""What the three clients share: auth hooks, the one-time 401 refresh, status → error mapping,
retries and the raw (non-raising) call used by the Advoware proxy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.clients.errors import ApiError, error_class_for
from services.clients.ratelimit import TokenBucket
from services.clients.retry import RetryPolicy, with_retries
from services.clients.routes import join_url
from services.clients.session import SessionSource
from services.clients.transport import HttpRequest, RawResponse, Transport


class ClientBase:
    system = "base"

    def __init__(
        self,
        *,
        base_url: str,
        session: SessionSource,
        timeout_s: float,
        max_requests_per_second: float,
        retry: RetryPolicy | None = None,
        burst: float | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self.limiter = TokenBucket(max_requests_per_second, burst)
        self.transport = Transport(self.system, session, timeout_s, self.limiter)

    # -- hooks for subclasses -------------------------------------------------------------------
    async def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _refresh_auth(self, rejected: Mapping[str, str]) -> bool:
        """Called once on a 401 with the auth headers that were rejected; True = send again."""
        return False

    def _error(self, req: HttpRequest, response: RawResponse) -> ApiError:
        cls = error_class_for(response.status)
        return cls(self.system, req.method, req.route, response.status)

    # -- calls ----------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return join_url(self.base_url, path)

    async def _exchange(self, req: HttpRequest, attempt: int) -> RawResponse:
        """Send with auth; on a 401 refresh the credentials once and send again."""
        auth = await self._auth_headers()
        response = await self.transport.send(req.with_headers(auth), attempt)
        if response.status == 401 and await self._refresh_auth(auth):
            response = await self.transport.send(req.with_headers(await self._auth_headers()), attempt)
        return response

    async def _call(self, req: HttpRequest, *, idempotent: bool | None = None) -> Any:
        """The body of a successful response; errors raised as ApiError subclasses, retried per
        `retry.py`. POST counts as non-idempotent unless the caller says otherwise."""
        safe = req.method != "POST" if idempotent is None else idempotent

        async def attempt(n: int) -> Any:
            response = await self._exchange(req, n)
            if response.status >= 400:
                raise self._error(req, response)
            return response.body

        return await with_retries(self.retry, safe, attempt)

    async def _raw(self, req: HttpRequest) -> RawResponse:
        """One exchange (plus the 401 refresh), whatever the status: for pass-through proxies."""
        return await self._exchange(req, 1)

    def _request(
        self,
        method: str,
        route: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        data: bool = True,
    ) -> HttpRequest:
        return HttpRequest(
            method, self.url(path), route, _query(params), json_body, dict(headers or {}), data
        )


def _query(params: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
    """Query pairs as strings: None values are left out, booleans lowercase (as the APIs
    expect), a list value repeats its key (Google `privateExtendedProperty`)."""
    if not params:
        return None
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                out.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return out
