"""Middlewares of the Google app around the shared fault layer:

- `google_error_shape` (outermost) rewrites every error under the API base that is not yet in
  Google's shape (the shared layer's injected `{"message": …}`, aiohttp's 404/405) into
  `{"error": {"code", "message", "errors": [...]}}`, so clients parse one format.
- `api_guard` (innermost, inside the counters) checks the bearer token (401), answers queued
  rate-limit errors (G9) and turns `GoogleError`s into responses, so they are counted too.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from aiohttp import web

from simulators.common.admin import Handler
from simulators.google.errors import (
    DEFAULT_REASONS,
    GoogleError,
    error_body,
    invalid_credentials,
    login_required,
    rate_limit_error,
)
from simulators.google.state import GoogleState


def google_error_shape(base: str) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        if not request.path.startswith(base) or response.status < 400:
            return response
        return _as_google_error(response)

    return middleware


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
    reason = DEFAULT_REASONS.get(response.status, "unknown")
    domain = "usageLimits" if response.status == 429 else "global"
    body = error_body(response.status, message, reason, domain)
    return web.json_response(body, status=response.status)


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

    return middleware


def _authorize(request: web.Request, state: GoogleState) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not token:
        token = request.query.get("access_token", "")  # Google also accepts the query form
    elif scheme.lower() != "bearer":
        raise invalid_credentials()
    token = token.strip()
    if not token:
        raise login_required()
    accepted = state.config.accepted_tokens
    if accepted is None or token in accepted:
        return
    expiry = state.issued_tokens.get(token)
    if expiry is None or expiry <= state.now():
        raise invalid_credentials()


def _rate_limit(request: web.Request, state: GoogleState) -> None:
    for rule in state.rate_limits:
        if rule.count <= 0:
            continue
        if (
            rule.route
            and not fnmatch.fnmatchcase(request.path, rule.route)
            and rule.route not in request.path
        ):
            continue
        rule.count -= 1
        raise rate_limit_error(rule.kind)
