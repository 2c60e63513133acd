"""Request and response helpers shared by the route modules: the JSON error shape, body
parsing (400 for malformed JSON), path parameters, and the middleware that checks the bearer
token and turns every error into the JSON body the real API would send.

The error texts for 401/404/405 are the standard ASP.NET Web API messages, which Advoware (a .NET
product) most plausibly returns; the `{"message": ...}` shape is a proposal (EXTERNAL_SYSTEMS 1.3).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from simulators.advoware.records import JsonDict
from simulators.advoware.tokens import TokenStore
from simulators.common.admin import Handler

TOKEN_PATH = "/api/v1/Token"
DENIED = "Authorization has been denied for this request."


class ApiError(Exception):
    """Raised by handlers; the middleware renders it as `{"message": ...}` with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> web.Response:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return web.json_response({"message": self.message}, status=self.status, headers=headers)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


async def read_json(request: web.Request) -> Any:
    raw = await request.text()
    if not raw.strip():
        raise ApiError(400, "The request body is empty.")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc.msg}") from None


async def read_object(request: web.Request) -> JsonDict:
    """A JSON object body; a list (a batch) is rejected: the API has no batch writes (A16)."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def int_param(request: web.Request, name: str, what: str) -> int:
    """A numeric path segment; anything else matches no resource, as in ASP.NET routing."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise not_found(what) from None


def _route_error(request: web.Request) -> ApiError | None:
    exc = request.match_info.http_exception
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return ApiError(405, f"The requested resource does not support http method '{request.method}'.")
    if exc is not None:
        return ApiError(exc.status, "No HTTP resource was found that matches the request URI.")
    return None


def _check_bearer(tokens: TokenStore, request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, DENIED)
    if tokens.check(token.strip()) is not None:
        raise ApiError(401, DENIED)


def api_middleware(tokens: TokenStore) -> Any:
    """Runs inside the shared fault/counting middleware, so 401s and 404s are counted too."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_admin"):
            return await handler(request)
        try:
            route_error = _route_error(request)
            if route_error is not None:
                raise route_error
            if request.path != TOKEN_PATH and request.path.startswith("/api/"):
                _check_bearer(tokens, request)
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    return middleware
