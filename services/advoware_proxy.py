"""Forward one proxy call to Advoware (SYNC_RULES §6, DECISIONS 12).

Answers Advoware's status with its body wrapped as `{"result": body}` (the old proxy's shape its
callers depend on), or unwrapped with `raw=1`. `endpoint=` is accepted as an alias of `path=`.
Other query parameters are forwarded unchanged. The caller's key is checked before this runs
(the step's auth, `is_authorized`); here: 400 for a hostile path or one outside the allowed
prefixes, 413 for a body over the limit, 504 when Advoware does not answer in time, 502 when it
cannot be reached or refuses the service's own credentials (no token). Nothing is forwarded
unless every check passed.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.clients.errors import ApiError, TransportError
from services.clients.transport import RawResponse
from services.proxy import ProxyPathError, check_allowed, normalise_prefixes, validate_proxy_path

CONTROL_PARAMS = {"path", "endpoint", "raw"}


class RawRequester(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse: ...


class ProxySettings(Protocol):
    proxy_max_body_bytes: int
    proxy_timeout_seconds: float
    proxy_max_path_length: int
    proxy_allowed_prefixes: str  # comma-separated


@dataclass(frozen=True)
class ProxyResult:
    status: int
    body: Any
    route: str = "-"  # what was forwarded, for logs: never the query (it may hold names)


def _refuse(status: int, error: str, detail: str) -> ProxyResult:
    return ProxyResult(status, {"error": error, "detail": detail})


def _pick_path(query: Mapping[str, list[str]]) -> str | None:
    values = {v for name in ("path", "endpoint") for v in query.get(name, [])}
    if len(values) > 1:
        raise ProxyPathError("give the path once (path= or endpoint=)")
    return next(iter(values), None)


async def forward_request(
    client: RawRequester,
    settings: ProxySettings,
    method: str,
    query: Mapping[str, list[str]],
    raw_body: bytes,
    body: Any,
) -> ProxyResult:
    try:
        raw_path = _pick_path(query)
        if raw_path is None:
            return _refuse(400, "Endpoint required as query param", "give path=<Advoware API path>")
        path = validate_proxy_path(raw_path, settings.proxy_max_path_length)
        check_allowed(path, normalise_prefixes(settings.proxy_allowed_prefixes))
    except ProxyPathError as exc:
        return _refuse(400, "invalid_path", str(exc))
    if len(raw_body) > settings.proxy_max_body_bytes:
        limit = settings.proxy_max_body_bytes
        return _refuse(413, "body_too_large", f"proxy bodies are limited to {limit} bytes")
    params = {k: v for k, v in query.items() if k not in CONTROL_PARAMS}
    unwrap = query.get("raw", ["0"])[-1] in ("1", "true")
    try:
        response = await asyncio.wait_for(
            client.request(method, path, params=params, json_body=body), settings.proxy_timeout_seconds
        )
    except TimeoutError:
        return _refuse(504, "upstream_timeout", "Advoware did not answer in time")
    except TransportError as exc:
        if exc.message == "timeout":  # sent, no answer in time (a connect timeout is 502)
            return _refuse(504, "upstream_timeout", "Advoware did not answer in time")
        return _refuse(502, "upstream_unreachable", "Advoware could not be reached")
    except ApiError as exc:  # no token (wrong credentials, gateway down): not the caller's fault
        return _refuse(502, "upstream_auth_failed", f"no Advoware token (HTTP {exc.status or '-'})")
    result = response.body
    if isinstance(result, bytes | bytearray):
        result = _decode(bytes(result))
    return ProxyResult(response.status, result if unwrap else {"result": result}, _route(path))


def _route(path: str) -> str:
    """The forwarded path with numbers as `{id}`: enough to debug, no names in logs."""
    return re.sub(r"\d+", "{id}", path)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")
