"""Service-account credentials of the Google client, with domain-wide delegation (DECISIONS 45).

google-auth reads the JSON key and signs the JWT grant (`sub` = the delegated user). Its
`refresh()` wants a synchronous `google.auth.transport.Request`; rather than add requests or
urllib3 for that one call, the refresh runs in a worker thread with `_BridgeRequest`, which
hands the HTTP exchange back to the event loop's aiohttp `Transport`. So the token call is
rate-limited, timed out, counted (as a non-data call, DECISIONS 11) and logged like any other,
and one retry policy governs it: statuses our policy retries (429, 5xx) are raised as our
errors inside the bridge, so google-auth's own retry loop, with its real multi-second sleeps,
never runs. A refused grant (`invalid_grant`, ...) becomes `Unauthorized`/`BadRequest` whose
reason is the OAuth error code; the key, the assertion and the answer are never logged.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.auth import exceptions as auth_exceptions
from google.auth import transport as auth_transport
from google.oauth2 import service_account

from services.clients import google_paths as paths
from services.clients.errors import ApiError, BadRequest, RateLimited, ServerError, Unauthorized
from services.clients.transport import HttpRequest, RawResponse, Transport

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
SYSTEM = "google"
_REQUEST_ERRORS = frozenset({"invalid_request", "invalid_scope", "unsupported_grant_type"})


class ServiceAccount:
    """A service-account key, loaded once; `credentials(subject)` delegates it to a user."""

    def __init__(self, credentials: service_account.Credentials) -> None:
        self._base = credentials

    @classmethod
    def from_info(cls, info: Mapping[str, Any], token_uri: str | None = None) -> ServiceAccount:
        """`token_uri` overrides the key's own (a simulator, a proxy)."""
        try:
            creds = service_account.Credentials.from_service_account_info(dict(info), scopes=[CALENDAR_SCOPE])
        except (ValueError, KeyError, TypeError) as exc:
            # google-auth's messages name missing fields, never the key itself.
            raise ValueError(f"not a usable service-account key: {exc}") from None
        return cls(creds.with_token_uri(token_uri) if token_uri else creds)

    @classmethod
    def from_file(cls, path: Path | str, token_uri: str | None = None) -> ServiceAccount:
        try:
            info = json.loads(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read the service-account key {path}: {exc.strerror}") from None
        except ValueError:
            raise ValueError(f"the service-account key {path} is not JSON") from None
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise ValueError(f"{path} is not a service-account key (type must be service_account)")
        return cls.from_info(info, token_uri)

    @property
    def email(self) -> str:
        return str(self._base.service_account_email)

    def credentials(self, subject: str | None) -> service_account.Credentials:
        """Fresh credentials acting for `subject` (None: the service account itself). A new
        object per refresh: google-auth credentials mutate while refreshing."""
        return self._base.with_subject(subject)


async def fetch_token(
    account: ServiceAccount, subject: str | None, transport: Transport, attempt: int
) -> tuple[str, float | None]:
    """One token request: (access token, lifetime in seconds as the endpoint reported it)."""
    creds = account.credentials(subject)
    bridge = _BridgeRequest(transport, asyncio.get_running_loop(), attempt)
    try:
        await asyncio.to_thread(creds.refresh, bridge)
    except auth_exceptions.RefreshError as exc:
        raise _refused(exc) from None
    if not creds.token:
        raise Unauthorized(SYSTEM, "POST", paths.TOKEN.template, 200, "google token response without a token")
    lifetime = None
    if creds.expiry is not None:
        lifetime = (creds.expiry.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    return str(creds.token), lifetime


def _refused(exc: auth_exceptions.RefreshError) -> ApiError:
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = data.get("error") if isinstance(data.get("error"), str) else None
    # The endpoint answers 400 for everything but `unauthorized_client` (401); a request we got
    # wrong is a BadRequest, a refused identity (`invalid_grant`: key, subject) Unauthorized.
    status = 401 if code == "unauthorized_client" else 400
    cls = BadRequest if code in _REQUEST_ERRORS else Unauthorized
    return cls(SYSTEM, "POST", paths.TOKEN.template, status, reason=code)


class _BridgeResponse(auth_transport.Response):  # type: ignore[misc]
    def __init__(self, raw: RawResponse) -> None:
        self._raw = raw

    @property
    def status(self) -> int:
        return self._raw.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._raw.headers

    @property
    def data(self) -> bytes:
        body = self._raw.body
        if body is None:
            return b""
        return (body if isinstance(body, str) else json.dumps(body)).encode()


class _BridgeRequest(auth_transport.Request):  # type: ignore[misc]
    """google-auth's synchronous request interface, served by the async Transport on `loop`
    (the caller runs in a worker thread while the loop is free)."""

    def __init__(self, transport: Transport, loop: asyncio.AbstractEventLoop, attempt: int) -> None:
        self._transport, self._loop, self._attempt = transport, loop, attempt

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **_: Any,
    ) -> _BridgeResponse:
        form = dict(urllib.parse.parse_qsl(body.decode())) if body else None
        sent = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
        req = HttpRequest(method, url, paths.TOKEN.template, form=form, headers=sent, data=False)
        future = asyncio.run_coroutine_threadsafe(self._transport.send(req, self._attempt), self._loop)
        raw = future.result()
        if raw.status == 429:
            raise RateLimited(SYSTEM, method, req.route, 429)
        if raw.status >= 500:
            raise ServerError(SYSTEM, method, req.route, raw.status)
        return _BridgeResponse(raw)
