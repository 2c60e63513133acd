"""Google-style error responses: `{"error": {"code", "message", "errors": [{"domain", "reason",
"message"}]}}`, raised as `GoogleError` by handlers and rendered by the app's middleware."""

from __future__ import annotations

from typing import Any

from aiohttp import web

# Reason used when a status comes from elsewhere (aiohttp's router, the shared fault layer).
DEFAULT_REASONS: dict[int, str] = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    405: "httpMethodNotAllowed",
    409: "duplicate",
    410: "deleted",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
    500: "backendError",
    502: "backendError",
    503: "backendError",
    504: "backendError",
}


class GoogleError(Exception):
    """An API error with Google's status, domain and reason."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str | None = None,
        domain: str = "global",
        **extra: str,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or DEFAULT_REASONS.get(status, "unknown")
        self.domain = domain
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.reason, self.domain, **self.extra)

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status)


def error_body(
    status: int, message: str, reason: str, domain: str = "global", **extra: str
) -> dict[str, Any]:
    detail: dict[str, Any] = {"domain": domain, "reason": reason, "message": message, **extra}
    return {"error": {"errors": [detail], "code": status, "message": message}}


def bad_request(message: str, reason: str = "invalid", **extra: str) -> GoogleError:
    return GoogleError(400, message, reason, **extra)


def not_found() -> GoogleError:
    return GoogleError(404, "Not Found", "notFound")


def gone_deleted() -> GoogleError:
    return GoogleError(410, "Resource has been deleted", "deleted")


def full_sync_required() -> GoogleError:
    return GoogleError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")


def precondition_failed() -> GoogleError:
    return GoogleError(
        412, "Precondition Failed", "conditionNotMet", location="If-Match", locationType="header"
    )


def duplicate_id() -> GoogleError:
    return GoogleError(409, "The requested identifier already exists.", "duplicate")


def login_required() -> GoogleError:
    return GoogleError(401, "Login Required.", "required", location="Authorization", locationType="header")


def invalid_credentials() -> GoogleError:
    return GoogleError(
        401, "Invalid Credentials", "authError", location="Authorization", locationType="header"
    )


# Rate-limit and quota answers of G9, by the `kind` the admin extra accepts.
RATE_LIMIT_KINDS: dict[str, tuple[int, str, str]] = {
    "403": (403, "rateLimitExceeded", "Rate Limit Exceeded"),
    "rateLimitExceeded": (403, "rateLimitExceeded", "Rate Limit Exceeded"),
    "userRateLimitExceeded": (403, "userRateLimitExceeded", "User Rate Limit Exceeded"),
    "429": (429, "rateLimitExceeded", "Rate Limit Exceeded"),
    "quotaExceeded": (403, "quotaExceeded", "Calendar usage limits exceeded."),
}


def rate_limit_error(kind: str) -> GoogleError:
    status, reason, message = RATE_LIMIT_KINDS[kind]
    return GoogleError(status, message, reason, domain="usageLimits")
