"""Client of the Google Calendar API v3 (EXTERNAL_SYSTEMS 3): calendars and events.

Rate-limit answers are recognised by their reason (G9): 403 `rateLimitExceeded` /
`userRateLimitExceeded` count as 429 and are retried; 403 `quotaExceeded` raises
`QuotaExceeded`. A 410 on an incremental list raises `FullSyncRequired`: the caller drops its
sync token and lists in full (G4). Event inserts with a client-chosen base32hex id are
idempotent: a 409 on a retried attempt means the first attempt got through, and the stored
event is returned. Every event write sends `sendUpdates=none` and refuses `attendees`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from services.clients import google_paths as paths
from services.clients.base import ClientBase
from services.clients.errors import (
    ApiError,
    FullSyncRequired,
    Gone,
    NotFound,
    QuotaExceeded,
    RateLimited,
    error_class_for,
)
from services.clients.google_auth import ServiceAccount, fetch_token
from services.clients.retry import RetryPolicy, with_retries
from services.clients.session import SessionSource
from services.clients.tokens import TokenCache, TokenManager
from services.clients.transport import HttpRequest, RawResponse

JsonDict = dict[str, Any]
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
# Every event write: Google must not mail the guests (SYNC_RULES §5, DECISIONS 44).
NO_UPDATES = {"sendUpdates": "none"}


class GoogleSettings(Protocol):
    google_api_base_url: str
    google_token_url: str
    google_service_account_file: Path | None
    google_delegation: Literal["owner", "employee"]
    google_calendar_owner: str
    google_timeout_seconds: float
    google_max_requests_per_second: float


# A token cache per principal (the delegated user, or the service account itself): steps keep
# them in the engine's state under the principal's address.
TokenCacheFactory = Callable[[str], TokenCache]


@dataclass
class EventList:
    """All items of a (possibly multi-page) listing and the token for the next incremental one."""

    items: list[JsonDict] = field(default_factory=list)
    next_sync_token: str | None = None


class GoogleCalendarClient(ClientBase):
    """Calls act for one principal (`subject`); `delegate(subject)` gives a view acting for
    another, sharing the connection pool, rate limit, retry policy and token managers."""

    system = "google"

    def __init__(
        self,
        *,
        base_url: str,
        session: SessionSource,
        service_account: ServiceAccount,
        token_caches: TokenCacheFactory,
        subject: str | None = None,
        token_lifetime_s: float = 3600.0,
        timeout_s: float = 30.0,
        max_requests_per_second: float = 10.0,
        retry: RetryPolicy | None = None,
        burst: float | None = None,
    ) -> None:
        """Tokens come from google-auth (`google_auth.py`): a JWT signed with the
        service-account key, delegated to `subject`, exchanged at the key's (or the
        overridden) token URI."""
        super().__init__(
            base_url=base_url,
            session=session,
            timeout_s=timeout_s,
            max_requests_per_second=max_requests_per_second,
            retry=retry,
            burst=burst,
        )
        self.service_account = service_account
        self.subject = subject.lower() if subject else None  # Google addresses are case-blind
        self._token_caches = token_caches
        self._token_lifetime = token_lifetime_s
        self._managers: dict[str | None, TokenManager] = {}

    @classmethod
    def from_settings(
        cls,
        settings: GoogleSettings,
        session: SessionSource,
        token_caches: TokenCacheFactory,
        **overrides: Any,
    ) -> GoogleCalendarClient:
        """The client of the configured service account; in `owner` mode it acts for
        GOOGLE_CALENDAR_OWNER, in `employee` mode `delegate(email)` per employee."""
        if settings.google_service_account_file is None:
            raise ValueError("GOOGLE_SERVICE_ACCOUNT_FILE is not set: the calendar needs a key file")
        account = ServiceAccount.from_file(settings.google_service_account_file, settings.google_token_url)
        owner = settings.google_calendar_owner if settings.google_delegation == "owner" else None
        kwargs: dict[str, Any] = {
            "base_url": settings.google_api_base_url,
            "session": session,
            "service_account": account,
            "token_caches": token_caches,
            "subject": owner or None,
            "timeout_s": settings.google_timeout_seconds,
            "max_requests_per_second": settings.google_max_requests_per_second,
        }
        return cls(**{**kwargs, **overrides})

    def delegate(self, subject: str | None) -> GoogleCalendarClient:
        """A view acting for `subject` (None: the service account itself)."""
        view = copy.copy(self)
        view.subject = subject.lower() if subject else None
        return view

    # -- auth and errors --------------------------------------------------------------------------
    @property
    def tokens(self) -> TokenManager:
        manager = self._managers.get(self.subject)
        if manager is None:
            subject = self.subject

            async def fetch() -> tuple[str, float | None]:
                return await with_retries(
                    self.retry, True, lambda n: fetch_token(self.service_account, subject, self.transport, n)
                )

            principal = subject or self.service_account.email
            manager = TokenManager(self._token_caches(principal), fetch, self._token_lifetime)
            self._managers[subject] = manager
        return manager

    async def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.tokens.token()}"}

    async def _refresh_auth(self, rejected: Mapping[str, str]) -> bool:
        await self.tokens.refresh(rejected.get("Authorization", "").removeprefix("Bearer ") or None)
        return True

    def _error(self, req: HttpRequest, response: RawResponse) -> ApiError:
        reason = error_reason(response.body)
        if response.status == 403 and reason in RATE_LIMIT_REASONS:
            return RateLimited(self.system, req.method, req.route, 403, reason=reason)
        if response.status == 403 and reason in QUOTA_REASONS:
            return QuotaExceeded(self.system, req.method, req.route, 403, reason=reason)
        if response.status == 410 and reason == "fullSyncRequired":
            return FullSyncRequired(self.system, req.method, req.route, 410, reason=reason)
        return error_class_for(response.status)(
            self.system, req.method, req.route, response.status, reason=reason
        )

    async def _pages(
        self, route: str, path: str, params: Mapping[str, Any]
    ) -> tuple[list[JsonDict], JsonDict]:
        """Every item of a paged listing, and the last page (where `nextSyncToken` is)."""
        items: list[JsonDict] = []
        page_token: str | None = None
        while True:
            req = self._request("GET", route, path, params={**params, "pageToken": page_token})
            body = _dict(await self._call(req))
            items.extend(body.get("items") or [])
            page_token = body.get("nextPageToken")
            if not page_token:
                return items, body

    # -- calendars and sharing --------------------------------------------------------------------
    async def list_calendars(self) -> list[JsonDict]:
        """The principal's calendar list: its own calendars and those shared with it."""
        route = paths.CALENDAR_LIST
        return (await self._pages(route.template, route.path(), {"maxResults": 250}))[0]

    async def find_calendars(self, summary: str) -> list[JsonDict]:
        """Calendars the principal owns with this summary: the lookup after an insert whose
        answer was lost (OutcomeUnknown)."""
        return [
            c
            for c in await self.list_calendars()
            if c.get("summary") == summary and c.get("accessRole") == "owner"
        ]

    async def insert_calendar(self, summary: str, time_zone: str | None = None) -> JsonDict:
        """A secondary calendar in the principal's account. Not idempotent: after
        OutcomeUnknown look it up with `find_calendars`."""
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

    async def insert_acl(
        self, calendar_id: str, email: str, role: str = "writer", *, send_notification: bool = True
    ) -> JsonDict:
        """Share the calendar with one user (scope `user:<email>`). Inserting the rule of a
        scope that has one replaces its role, so this POST is retried like a PUT. Google mails
        the user once that a calendar was shared (`send_notification`), so the employee can
        add it; event writes never mail anybody."""
        route = paths.ACL
        body = {"role": role, "scope": {"type": "user", "value": email}}
        params = {"sendNotifications": send_notification}
        req = self._request(
            "POST", route.template, route.path(calendar_id=calendar_id), params=params, json_body=body
        )
        return _dict(await self._call(req, idempotent=True))

    async def list_acl(self, calendar_id: str) -> list[JsonDict]:
        """Every sharing rule of the calendar, the owner's first."""
        route = paths.ACL
        return (await self._pages(route.template, route.path(calendar_id=calendar_id), {"maxResults": 250}))[
            0
        ]

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
        Google refuses to combine with time or property filters, G3). Raises
        `FullSyncRequired` (a `Gone`) when the sync token is no longer valid (G4)."""
        if sync_token and (time_min or time_max or private_extended_property):
            raise ValueError("sync_token cannot be combined with time or property filters (G3)")
        route = paths.EVENTS
        props = [f"{k}={v}" for k, v in (private_extended_property or {}).items()]
        params = {
            "syncToken": sync_token, "timeMin": time_min, "timeMax": time_max,
            "singleEvents": single_events, "showDeleted": show_deleted,
            "privateExtendedProperty": props or None, "maxResults": max_results,
        }  # fmt: skip
        items, last = await self._pages(route.template, route.path(calendar_id=calendar_id), params)
        return EventList(items, last.get("nextSyncToken"))

    async def list_instances(
        self,
        calendar_id: str,
        event_id: str,
        *,
        time_min: str | None = None,
        time_max: str | None = None,
        show_deleted: bool | None = None,
        max_results: int = 250,
    ) -> list[JsonDict]:
        """The occurrences of a recurring series (moved exceptions included, cancelled ones
        with `show_deleted`), all pages."""
        route = paths.INSTANCES
        path = route.path(calendar_id=calendar_id, event_id=event_id)
        params = {
            "timeMin": time_min,
            "timeMax": time_max,
            "showDeleted": show_deleted,
            "maxResults": max_results,
        }
        return (await self._pages(route.template, path, params))[0]

    async def get_event(self, calendar_id: str, event_id: str) -> JsonDict:
        """Also a deleted event (`status: cancelled`, G8) and an instance by its id (G7)."""
        route = paths.EVENT
        path = route.path(calendar_id=calendar_id, event_id=event_id)
        return _dict(await self._call(self._request("GET", route.template, path)))

    async def insert_event(self, calendar_id: str, event: JsonDict, adopt_existing: bool = False) -> JsonDict:
        """Create an event. With a client-chosen `id` (base32hex, G10) the insert is retried like
        a PUT, and a 409 after a retry returns the stored event (the first attempt got
        through); a 409 on the first attempt raises `Conflict` unless `adopt_existing` (recovery
        after a crash, DECISIONS 5) returns the stored event. Without an `id`, a timeout/5xx
        raises OutcomeUnknown."""
        route = paths.EVENTS
        path = route.path(calendar_id=calendar_id)
        req = self._request("POST", route.template, path, params=NO_UPDATES, json_body=_no_attendees(event))
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
        """Partial update (`null` clears a field); with `etag` a concurrent change raises
        PreconditionFailed (G5)."""
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
            await self._call(
                self._request("DELETE", route.template, path, params=NO_UPDATES, headers=headers)
            )
        except (NotFound, Gone):
            if not missing_ok:
                raise

    async def _write_event(
        self, method: str, calendar_id: str, event_id: str, body: JsonDict, etag: str | None
    ) -> JsonDict:
        route = paths.EVENT
        headers = {"If-Match": etag} if etag else None
        path = route.path(calendar_id=calendar_id, event_id=event_id)
        req = self._request(
            method, route.template, path, params=NO_UPDATES, json_body=_no_attendees(body), headers=headers
        )
        return _dict(await self._call(req))


def _no_attendees(body: JsonDict) -> JsonDict:
    """The service never writes guests (SYNC_RULES §5): a body with `attendees` is a bug."""
    if "attendees" in body:
        raise ValueError("event writes must not carry attendees")
    return body


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
