"""The Google app's error shape and its middleware inside the shared fault layer.

Every error under the API base comes in Google's `{"error": {"code", "message", "errors": [...]}}`
shape, so clients parse one format:

- `google_fault_error` renders the shared layer's injected faults (given to `make_simulator_app`).
- `api_guard` (inside the counters) checks the bearer token (401), answers queued rate-limit
  errors (G9), turns `GoogleError`s into responses and reshapes aiohttp's own errors (404/405,
  413, ...), so they are all counted too.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from aiohttp import web

from simulators.common.admin import FaultError, Handler, error_response
from simulators.google.errors import (
    DEFAULT_REASONS,
    GoogleError,
    error_body,
    invalid_credentials,
    login_required,
    rate_limit_error,
)
from simulators.google.state import GoogleState


def google_fault_error(base: str) -> FaultError:
    def render(request: web.Request, status: int, message: str) -> web.StreamResponse:
        if not request.path.startswith(base):
            return error_response(status, message)
        return _google_response(status, message)

    return render


def _as_google_error(response: web.StreamResponse) -> web.StreamResponse:
    message = response.reason or "Error"
    if isinstance(response, web.Response) and response.body and isinstance(response.body, bytes | bytearray):
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        if isinstance(data, dict) and "error" in data:
            return response  # already Google-shaped
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            message = data["message"]
    return _google_response(response.status, message)


def _google_response(status: int, message: str) -> web.Response:
    reason = DEFAULT_REASONS.get(status, "unknown")
    domain = "usageLimits" if status == 429 else "global"
    return web.json_response(error_body(status, message, reason, domain), status=status)


def api_guard(base: str, state: GoogleState) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(base):
            return await handler(request)
        try:
            _authorize(request, state)
            _rate_limit(request, state)
            return await handler(request)
        except GoogleError as exc:
            return exc.response()
        except web.HTTPException as exc:  # aiohttp's router and body limits
            return exc if exc.status < 400 else _as_google_error(exc)

    return middleware


def _authorize(request: web.Request, state: GoogleState) -> None:
    """Only tokens the token endpoint issued, until they expire; the request then acts for the
    token's principal (`request["principal"]`)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not token:
        token = request.query.get("access_token", "")  # Google also accepts the query form
    elif scheme.lower() != "bearer":
        raise invalid_credentials()
    token = token.strip()
    if not token:
        raise login_required()
    issued = state.issued_tokens.get(token)
    if issued is None or issued.expires <= state.real_now():
        raise invalid_credentials()
    request["principal"] = issued.principal


def _rate_limit(request: web.Request, state: GoogleState) -> None:
    for rule in state.rate_limits:
        if rule.count <= 0 or (rule.method and rule.method.upper() != request.method):
            continue
        if (
            rule.route
            and not fnmatch.fnmatchcase(request.path, rule.route)
            and rule.route not in request.path
        ):
            continue
        rule.count -= 1
        raise rate_limit_error(rule.kind)
