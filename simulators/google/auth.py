"""The fake OAuth token endpoint: `POST /token` with a service-account JWT grant, as
`google-auth` sends it (any assertion is accepted; the simulator does not check signatures)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from aiohttp import web

from simulators.google.request_util import google_state

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _oauth_error(error: str, description: str) -> web.Response:
    # OAuth endpoints use the RFC 6749 error shape, not the Calendar API one.
    return web.json_response({"error": error, "error_description": description}, status=400)


async def token(request: web.Request) -> web.Response:
    state = google_state(request)
    form = await request.post()
    if form.get("grant_type") != JWT_GRANT:
        return _oauth_error("unsupported_grant_type", "Invalid grant_type.")
    if not form.get("assertion"):
        return _oauth_error("invalid_request", "Missing required parameter: assertion")
    access_token = "ya29.sim-" + secrets.token_urlsafe(24)
    lifetime = state.config.token_lifetime_s
    state.issued_tokens[access_token] = state.now() + timedelta(seconds=lifetime)
    return web.json_response({"access_token": access_token, "expires_in": lifetime, "token_type": "Bearer"})


def add_token_route(app: web.Application) -> None:
    app.router.add_post("/token", token)
