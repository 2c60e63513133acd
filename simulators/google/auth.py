"""The fake OAuth token endpoint: `POST /token` with a service-account JWT grant, as
`google-auth` sends it. The assertion must be signed with a configured service account's key,
carry Google's audience, a calendar scope and a short lifetime, and name a known user as `sub`
(domain-wide delegation) or none; the token issued acts for that principal."""

from __future__ import annotations

import secrets
from datetime import timedelta

from aiohttp import web

from simulators.google.jwt_grant import GrantRefused, verify_assertion
from simulators.google.request_util import google_state
from simulators.google.state import IssuedToken

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    # OAuth endpoints use the RFC 6749 error shape, not the Calendar API one.
    return web.json_response({"error": error, "error_description": description}, status=status)


async def token(request: web.Request) -> web.Response:
    state = google_state(request)
    form = await request.post()
    if form.get("grant_type") != JWT_GRANT:
        return _oauth_error("unsupported_grant_type", "Invalid grant_type.")
    assertion = form.get("assertion")
    if not isinstance(assertion, str) or not assertion:
        return _oauth_error("invalid_request", "Missing required parameter: assertion")
    config = state.config
    now = state.real_now()
    try:
        grant = verify_assertion(
            assertion, config.service_accounts, config.token_audience, state.users, now.timestamp()
        )
    except GrantRefused as exc:
        return _oauth_error(exc.error, exc.description, exc.status)
    access_token = "ya29.sim-" + secrets.token_urlsafe(24)
    lifetime = config.token_lifetime_s
    expires = now + timedelta(seconds=lifetime)
    state.issued_tokens[access_token] = IssuedToken(grant.principal, expires, grant.scopes)
    return web.json_response({"access_token": access_token, "expires_in": lifetime, "token_type": "Bearer"})


def add_token_route(app: web.Application) -> None:
    app.router.add_post("/token", token)
