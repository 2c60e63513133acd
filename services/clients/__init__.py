"""HTTP clients of the three external systems: EspoCRM, Advoware, Google Calendar.

One shared `aiohttp.ClientSession` (`SessionHolder`), timeouts on every call, one retry policy
(`retry.py`), a token bucket per system, every call counted (`calls.py`). See docs/clients.md.
"""

from services.clients.advoware import AdvowareClient
from services.clients.advoware_auth import AdvowareCredentials
from services.clients.calls import CallLog, CallRecord, count_calls
from services.clients.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    FullSyncRequired,
    Gone,
    NotFound,
    OutcomeUnknown,
    PreconditionFailed,
    QuotaExceeded,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
)
from services.clients.espocrm import EspoCrmClient
from services.clients.google import EventList, GoogleCalendarClient
from services.clients.google_auth import ServiceAccount
from services.clients.ratelimit import TokenBucket
from services.clients.retry import RetryPolicy
from services.clients.session import SessionHolder, close_shared_session, shared_session
from services.clients.tokens import InMemoryTokenCache, TokenCache
from services.clients.transport import RawResponse

__all__ = [
    "AdvowareClient",
    "AdvowareCredentials",
    "ApiError",
    "BadRequest",
    "CallLog",
    "CallRecord",
    "Conflict",
    "EspoCrmClient",
    "EventList",
    "Forbidden",
    "FullSyncRequired",
    "Gone",
    "GoogleCalendarClient",
    "InMemoryTokenCache",
    "NotFound",
    "OutcomeUnknown",
    "PreconditionFailed",
    "QuotaExceeded",
    "RateLimited",
    "RawResponse",
    "RetryPolicy",
    "ServerError",
    "ServiceAccount",
    "SessionHolder",
    "TokenBucket",
    "TokenCache",
    "TransportError",
    "Unauthorized",
    "close_shared_session",
    "count_calls",
    "shared_session",
]
