"""Client of the Google Calendar API v3 (EXTERNAL_SYSTEMS 3): calendars and events.

Rate-limit answers are recognised by their reason (G9): 403 `rateLimitExceeded` /
`userRateLimitExceeded` count as 429 and are retried; 403 `quotaExceeded` is not. A 410 on an
incremental list raises `Gone`: the caller drops its sync token and lists in full (G4). Event
inserts with a client-chosen base32hex id are idempotent: a 409 on a retried attempt means the
first attempt got through, and the stored event is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import SecretStr

from services.clients import google_paths as paths
from services.clients.base import ClientBase
from services.clients.errors import (
    ApiError,
    Gone,
    NotFound,
    QuotaExceeded,
    RateLimited,
    error_class_for,
)
from services.clients.retry import RetryPolicy, with_retries
from services.clients.session import SessionSource
from services.clients.tokens import TokenCache, TokenManager
from services.clients.transport import HttpRequest, RawResponse

JsonDict = dict[str, Any]
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class GoogleSettings(Protocol):
    google_api_base_url: str
    google_token_url: str
    google_timeout_seconds: float
    google_max_requests_per_second: float


@dataclass
class EventList:
    """All items of a (possibly multi-page) listing and the token for the next incremental one."""

    items: list[JsonDict] = field(default_factory=list)
    next_sync_token: str | None = None


class GoogleCalendarClient(ClientBase):
    system = "google"

    def __init__(
        self,
        *,
        base_url: str,
        session: SessionSource,
        access_token: SecretStr | None = None,
        token_url: str | None = None,
        token_cache: TokenCache | None = None,
        assertion: Callable[[], str] | None = None,
        token_lifetime_s: float = 3600.0,
        timeout_s: float = 30.0,
        max_requests_per_second: float = 10.0,
        retry: RetryPolicy | None = None,
        burst: float | None = None,
    ) -> None:
        """Either a fixed `access_token`, or a `token_url` + `token_cache`: the token endpoint
        gets an OAuth JWT-bearer grant whose assertion comes from `assertion()` (signing a
        service-account JWT needs RSA, which this project does not ship; the simulator accepts
        any assertion)."""
        super().__init__(
            base_url=base_url,
            session=session,
            timeout_s=timeout_s,
            max_requests_per_second=max_requests_per_second,
            retry=retry,
            burst=burst,
        )
        self._static = access_token
        self._token_url = token_url
        self._assertion = assertion or (lambda: "sandbox-assertion")
        self.tokens: TokenManager | None = None
        if access_token is None:
            if token_url is None or token_cache is None:
                raise ValueError("need access_token, or token_url and token_cache")
            self.tokens = TokenManager(token_cache, self._fetch_token, token_lifetime_s)

    @classmethod
    def from_settings(
        cls, settings: GoogleSettings, session: SessionSource, token_cache: TokenCache, **overrides: Any
    ) -> GoogleCalendarClient:
        kwargs: dict[str, Any] = {
            "base_url": settings.google_api_base_url,
            "token_url": settings.google_token_url,
            "token_cache": token_cache,
            "session": session,
            "timeout_s": settings.google_timeout_seconds,
            "max_requests_per_second": settings.google_max_requests_per_second,
        }
        return cls(**{**kwargs, **overrides})

    # -- auth and errors --------------------------------------------------------------------------
    async def _fetch_token(self) -> tuple[str, float | None]:
        assert self._token_url is not None
        form = {"grant_type": JWT_BEARER, "assertion": self._assertion()}

        async def attempt(n: int) -> tuple[str, float | None]:
            req = HttpRequest("POST", self._token_url or "", paths.TOKEN.template, form=form, data=False)
            response = await self.transport.send(req, n)
            body = response.body if isinstance(response.body, dict) else {}
            token = body.get("access_token")
            if response.status >= 400 or not isinstance(token, str) or not token:
                raise self._error(req, response)
            expires = body.get("expires_in")
            return token, float(expires) if isinstance(expires, int | float) else None

        return await with_retries(self.retry, True, attempt)

    async def _auth_headers(self) -> dict[str, str]:
        if self._static is not None:
            return {"Authorization": f"Bearer {self._static.get_secret_value()}"}
        assert self.tokens is not None
        return {"Authorization": f"Bearer {await self.tokens.token()}"}

    async def _refresh_auth(self, rejected: Mapping[str, str]) -> bool:
        if self.tokens is None:
            return False
        await self.tokens.refresh(rejected.get("Authorization", "").removeprefix("Bearer ") or None)
        return True

    def _error(self, req: HttpRequest, response: RawResponse) -> ApiError:
        reason = error_reason(response.body)
        if response.status == 403 and reason in RATE_LIMIT_REASONS:
            return RateLimited(self.system, req.method, req.route, 403, reason=reason)
        if response.status == 403 and reason in QUOTA_REASONS:
            return QuotaExceeded(self.system, req.method, req.route, 403, reason=reason)
        return error_class_for(response.status)(
            self.system, req.method, req.route, response.status, reason=reason
        )

    # -- calendars --------------------------------------------------------------------------------
    async def list_calendars(self) -> list[JsonDict]:
        route = paths.CALENDAR_LIST
        items: list[JsonDict] = []
        page_token: str | None = None
        while True:
            params = {"pageToken": page_token, "maxResults": 250}
            body = _dict(await self._call(self._request("GET", route.template, route.path(), params=params)))
            items.extend(body.get("items") or [])
            page_token = body.get("nextPageToken")
            if not page_token:
                return items

    async def insert_calendar(self, summary: str, time_zone: str | None = None) -> JsonDict:
        """Not idempotent: after OutcomeUnknown look the calendar up by summary."""
        route = paths.CALENDARS
        body: JsonDict = {"summary": summary} | ({"timeZone": time_zone} if time_zone else {})
        return _dict(await self._call(self._request("POST", route.template, route.path(), json_body=body)))

    async def get_calendar(self, calendar_id: str) -> JsonDict:
        route = paths.CALENDAR
        path = route.path(calendar_id=calendar_id)
        return _dict(await self._call(self._request("GET", route.template, path)))

    async def delete_calendar(self, calendar_id: str) -> None:
        route = paths.CALENDAR
        await self._call(self._request("DELETE", route.template, route.path(calendar_id=calendar_id)))

    # -- events -----------------------------------------------------------------------------------
    async def list_events(
        self,
        calendar_id: str,
        *,
        sync_token: str | None = None,
        time_min: str | None = None,
        time_max: str | None = None,
        single_events: bool | None = None,
        show_deleted: bool | None = None,
        private_extended_property: Mapping[str, str] | None = None,
        max_results: int = 250,
    ) -> EventList:
        """All pages of a full listing, or of an incremental one with `sync_token` (which
        Google refuses to combine with time or property filters, G3). Raises `Gone` when the
        sync token is no longer valid (G4)."""
        if sync_token and (time_min or time_max or private_extended_property):
            raise ValueError("sync_token cannot be combined with time or property filters (G3)")
        route = paths.EVENTS
        path = route.path(calendar_id=calendar_id)
        props = [f"{k}={v}" for k, v in (private_extended_property or {}).items()]
        base = {
            "syncToken": sync_token, "timeMin": time_min, "timeMax": time_max,
            "singleEvents": single_events, "showDeleted": show_deleted,
            "privateExtendedProperty": props or None, "maxResults": max_results,
        }  # fmt: skip
        result = EventList()
        page_token: str | None = None
        while True:
            params = base | {"pageToken": page_token}
            body = _dict(await self._call(self._request("GET", route.template, path, params=params)))
            result.items.extend(body.get("items") or [])
            page_token = body.get("nextPageToken")
            if not page_token:
                result.next_sync_token = body.get("nextSyncToken")
                return result

    async def get_event(self, calendar_id: str, event_id: str) -> JsonDict:
        route = paths.EVENT
        path = route.path(calendar_id=calendar_id, event_id=event_id)
        return _dict(await self._call(self._request("GET", route.template, path)))

    async def insert_event(self, calendar_id: str, event: JsonDict, adopt_existing: bool = False) -> JsonDict:
        """Create an event. With a client-chosen `id` (base32hex, G10) the insert is retried like
        a PUT, and a 409 after a retry returns the stored event (the first attempt got
        through). `adopt_existing` does that on a first-attempt 409 too: recovery after a crash
        (DECISIONS 5). Without an `id`, a timeout/5xx raises OutcomeUnknown."""
        route = paths.EVENTS
        req = self._request("POST", route.template, route.path(calendar_id=calendar_id), json_body=event)
        event_id = event.get("id")
        if not event_id:
            return _dict(await self._call(req))

        async def attempt(n: int) -> Any:
            response = await self._exchange(req, n)
            if response.status == 409 and (n > 1 or adopt_existing):
                return await self.get_event(calendar_id, str(event_id))
            if response.status >= 400:
                raise self._error(req, response)
            return response.body

        return _dict(await with_retries(self.retry, True, attempt))

    async def patch_event(
        self, calendar_id: str, event_id: str, patch: JsonDict, etag: str | None = None
    ) -> JsonDict:
        """Partial update; with `etag` a concurrent change raises PreconditionFailed (G5)."""
        return await self._write_event("PATCH", calendar_id, event_id, patch, etag)

    async def update_event(
        self, calendar_id: str, event_id: str, event: JsonDict, etag: str | None = None
    ) -> JsonDict:
        """Full replacement; with `etag` a concurrent change raises PreconditionFailed (G5)."""
        return await self._write_event("PUT", calendar_id, event_id, event, etag)

    async def delete_event(
        self, calendar_id: str, event_id: str, etag: str | None = None, missing_ok: bool = False
    ) -> None:
        """`missing_ok` treats 404 and 410 (already deleted, G8) as done."""
        route = paths.EVENT
        headers = {"If-Match": etag} if etag else None
        path = route.path(calendar_id=calendar_id, event_id=event_id)
        try:
            await self._call(self._request("DELETE", route.template, path, headers=headers))
        except (NotFound, Gone):
            if not missing_ok:
                raise

    async def _write_event(
        self, method: str, calendar_id: str, event_id: str, body: JsonDict, etag: str | None
    ) -> JsonDict:
        route = paths.EVENT
        headers = {"If-Match": etag} if etag else None
        path = route.path(calendar_id=calendar_id, event_id=event_id)
        req = self._request(method, route.template, path, json_body=body, headers=headers)
        return _dict(await self._call(req))


def error_reason(body: Any) -> str | None:
    """`error.errors[0].reason` of a Google error body: a fixed vocabulary, safe to log."""
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        return reason if isinstance(reason, str) else None
    return None


def _dict(body: Any) -> JsonDict:
    return body if isinstance(body, dict) else {}
