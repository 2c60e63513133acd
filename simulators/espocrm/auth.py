"""API authentication (2.1): `X-Api-Key`, or HMAC
`X-Hmac-Authorization: base64(apiKey + ":" + HMAC_SHA256(secretKey, METHOD + " /" + uri))` with
the raw digest and `uri` the path after `api/v1/` (no query string). Bad or missing → 401.

Both identify the service's API user. A test can act as a human user with the `X-Sim-User`
header or `POST /_admin/as-user`; those writes are not "own" writes and fire `skipOwn` webhooks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from aiohttp import web

from .config import EspoSimConfig
from .state import EspoState

API_PREFIX = "/api/v1/"
USER_KEY = web.RequestKey("espocrm_user", str)


def hmac_header(api_key: str, secret_key: str, method: str, uri: str) -> str:
    """The header value a client sends; `uri` is the path after `api/v1/`."""
    digest = hmac.new(secret_key.encode(), f"{method.upper()} /{uri}".encode(), hashlib.sha256).digest()
    return base64.b64encode(api_key.encode() + b":" + digest).decode()


def _hmac_ok(config: EspoSimConfig, request: web.Request, header: str) -> bool:
    try:
        raw = base64.b64decode(header, validate=True)
    except (binascii.Error, ValueError):
        return False
    key, sep, digest = raw.partition(b":")
    if not sep or not hmac.compare_digest(key, config.api_key.encode()):
        return False
    uri = request.path[len(API_PREFIX) :]
    expected = hmac.new(
        config.secret_key.encode(), f"{request.method} /{uri}".encode(), hashlib.sha256
    ).digest()
    return hmac.compare_digest(digest, expected)


def is_authenticated(config: EspoSimConfig, request: web.Request) -> bool:
    api_key = request.headers.get("X-Api-Key")
    if api_key is not None:
        return hmac.compare_digest(api_key.encode(), config.api_key.encode())
    header = request.headers.get("X-Hmac-Authorization")
    return header is not None and _hmac_ok(config, request, header)


def auth_middleware(state: EspoState) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        if not is_authenticated(state.config, request):
            return web.json_response(
                {"message": "Unauthorized"}, status=401, headers={"X-Status-Reason": "Unauthorized"}
            )
        request[USER_KEY] = request.headers.get("X-Sim-User") or state.acting_user or state.config.api_user_id
        response: web.StreamResponse = await handler(request)
        return response

    return middleware


def acting_user(request: web.Request) -> str:
    return request[USER_KEY]
