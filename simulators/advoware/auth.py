"""The Security Gateway's token endpoint (EXTERNAL_SYSTEMS 1.2).

`POST /api/v1/Token` with AppID, Kanzlei, Database, User, Role, Product, Password, Nonce,
RequestTimeStamp and HMAC512Signature = base64(HMAC-SHA512(base64decode(api key),
f"{Product}:{AppID}:{Nonce}:{RequestTimeStamp}")). Every rejection is a 401 with a JSON message
naming the reason, so client tests can tell the cases apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from aiohttp import web

from simulators.advoware.config import AdvowareSimConfig
from simulators.advoware.httputil import TOKEN_PATH, ApiError, read_object
from simulators.advoware.records import JsonDict
from simulators.advoware.state import AdvowareState

REQUIRED = (
    "AppID",
    "Kanzlei",
    "Database",
    "User",
    "Role",
    "Product",
    "Password",
    "Nonce",
    "RequestTimeStamp",
    "HMAC512Signature",
)


def expected_signature(config: AdvowareSimConfig, product: object, nonce: str, timestamp: str) -> str:
    message = f"{product}:{config.app_id}:{nonce}:{timestamp}".encode()
    key = base64.b64decode(config.api_key_b64)
    return base64.b64encode(hmac.new(key, message, hashlib.sha512).digest()).decode("ascii")


def _timestamp_age(config: AdvowareSimConfig, raw: object) -> float:
    if not isinstance(raw, str):
        raise ApiError(401, "Invalid RequestTimeStamp.")
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(401, "Invalid RequestTimeStamp.") from None
    if stamp.tzinfo is None:
        raise ApiError(401, "RequestTimeStamp must be UTC (suffix Z).")
    return abs(config.clock() - stamp.timestamp())


def _verify(state: AdvowareState, body: JsonDict) -> None:
    config = state.config
    missing = [name for name in REQUIRED if name not in body]
    if missing:
        raise ApiError(400, f"Missing fields: {', '.join(missing)}")
    if body["AppID"] != config.app_id:
        raise ApiError(401, "Unknown AppID.")
    signature = expected_signature(config, body["Product"], str(body["Nonce"]), str(body["RequestTimeStamp"]))
    if not hmac.compare_digest(signature, str(body["HMAC512Signature"])):
        raise ApiError(401, "Invalid HMAC512Signature.")
    if _timestamp_age(config, body["RequestTimeStamp"]) > config.clock_skew_s:
        raise ApiError(401, "RequestTimeStamp is too far from the server time.")
    if not state.tokens.use_nonce(str(body["Nonce"])):
        raise ApiError(401, "Nonce has already been used.")
    if body["Product"] != config.product or body["Role"] != config.role:
        raise ApiError(401, "Invalid Product or Role.")
    if (body["Kanzlei"], body["Database"], body["User"]) != (config.kanzlei, config.database, config.user):
        raise ApiError(401, "Unknown Kanzlei, Database or User.")
    if body["Password"] != config.password:
        raise ApiError(401, "Invalid user name or password.")


async def token(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    _verify(state, await read_object(request))
    access_token, expires_in = state.tokens.issue()
    return web.json_response({"access_token": access_token, "token_type": "bearer", "expires_in": expires_in})


async def configurator(request: web.Request) -> web.Response:
    """The discovery endpoint (1.1): this one origin serves API and token endpoint alike."""
    state: AdvowareState = request.app["advoware"]
    if request.query.get("Kanzlei") != state.config.kanzlei:
        raise ApiError(404, "Unknown Kanzlei.")
    base = f"{request.scheme}://{request.host}/"
    return web.json_response({"relayUrl": base, "connectorUrl": None, "securityGateway": base})


def add_routes(app: web.Application) -> None:
    app.router.add_post(TOKEN_PATH, token)
    app.router.add_get("/AdvonetConfigurator/api/Url", configurator)
