"""Errors raised by the HTTP clients of EspoCRM, Advoware and Google Calendar.

Every error carries the system, the HTTP method, the route TEMPLATE (never the concrete path:
it may hold an id or a name) and the status. Response bodies are never part of an error: they
can hold personal data (DECISIONS 17). Only a short machine reason (e.g. Google's
`rateLimitExceeded`) is kept.
"""

from __future__ import annotations


class ApiError(Exception):
    """A call to an external system failed. `status` is None when no response arrived."""

    # The message names system, method, route template and status only: the engine may keep it
    # in a dead letter (engine.worker.error_text), where other exception texts are withheld.
    log_safe = True

    def __init__(
        self,
        system: str,
        method: str,
        route: str,
        status: int | None,
        message: str = "",
        *,
        reason: str | None = None,
    ) -> None:
        self.system = system
        self.method = method
        self.route = route
        self.status = status
        self.reason = reason
        # Set once a retry loop has given up on this error, so an enclosing loop (a data call
        # around its token fetch) does not multiply the attempts.
        self.exhausted = False
        self.message = message or self._default_message()
        super().__init__(self.message)

    def _default_message(self) -> str:
        status = "no response" if self.status is None else f"HTTP {self.status}"
        suffix = f" ({self.reason})" if self.reason else ""
        return f"{self.system} {self.method} {self.route}: {status}{suffix}"


class BadRequest(ApiError):
    """400/422: the request itself is wrong; retrying cannot help."""


class Unauthorized(ApiError):
    """401: missing, wrong or expired credentials."""


class Forbidden(ApiError):
    """403: not allowed (e.g. Advoware DELETE of a Kommunikation entry, EspoCRM maxSize > 200)."""


class QuotaExceeded(Forbidden):
    """Google 403 `quotaExceeded`/`dailyLimitExceeded`: not cured by quick retries."""


class NotFound(ApiError):
    """404: the record does not exist (Advoware: deleted party, A6)."""


class Conflict(ApiError):
    """409: e.g. a Google event id that already exists (G10)."""


class Gone(ApiError):
    """410: Google sync token expired (full resync needed, G4) or event already deleted (G8)."""


class FullSyncRequired(Gone):
    """Google 410 `fullSyncRequired` on an incremental listing: drop the sync token (G4)."""


class PreconditionFailed(ApiError):
    """412: stale `If-Match` etag (G5)."""


class RateLimited(ApiError):
    """429, or Google 403 `rateLimitExceeded`/`userRateLimitExceeded`: retried with backoff."""


class ServerError(ApiError):
    """5xx: transient on the server side; retried for idempotent methods only."""


class TransportError(ApiError):
    """No HTTP response: timeout, refused connection, dropped connection.

    `not_sent` is True only when the request surely never reached the server (connection
    refused / DNS failure), which makes even a non-idempotent write safe to retry."""

    def __init__(
        self, system: str, method: str, route: str, message: str = "", *, not_sent: bool = False
    ) -> None:
        self.not_sent = not_sent
        super().__init__(system, method, route, None, message)


class OutcomeUnknown(ApiError):
    """A non-idempotent write (POST) got a timeout or a 5xx: it may or may not have happened.

    Never retried blindly (a retry could create a duplicate party, entry, address, account or
    event). The sync layer recovers by lookup: create intent, marker, `EspoCRM-ID`, IBAN, or a
    client-chosen event id (DECISIONS 5)."""


class NotApplied(ApiError):
    """A write without a clear answer (a 5xx, none) that a read-back showed did not take effect:
    the record still carries the version the write was built on. Surely not applied."""

    @classmethod
    def of(cls, error: ApiError) -> NotApplied:
        return cls(error.system, error.method, error.route, error.status, error.message, reason=error.reason)


def maybe_applied(error: BaseException) -> bool:
    """No answer or a 5xx: the remote may have applied the write before failing to say so."""
    if isinstance(error, NotApplied):
        return False
    if isinstance(error, OutcomeUnknown):
        return True
    return isinstance(error, ApiError) and (error.status is None or error.status >= 500)


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    412: PreconditionFailed,
    422: BadRequest,
    429: RateLimited,
}


def error_class_for(status: int) -> type[ApiError]:
    """The error class for an HTTP error status (>= 400)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
