"""The one retry policy of all clients (DECISIONS 5), built on the `backoff` package.

| outcome                        | GET / PUT / PATCH / DELETE | non-idempotent POST        |
| ------------------------------ | -------------------------- | -------------------------- |
| 429 (Google: 403 rate limit)   | retried                    | retried (not processed)    |
| connection refused / DNS       | retried                    | retried (nothing was sent) |
| timeout, dropped connection    | retried                    | OutcomeUnknown, no retry   |
| 5xx                            | retried                    | OutcomeUnknown, no retry   |
| any other 4xx                  | raised at once             | raised at once             |

Retries use exponential backoff with full jitter, bounded by `max_tries`; tests pass tiny
delays through `RetryPolicy`.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff

from services.clients.errors import ApiError, OutcomeUnknown, RateLimited, ServerError, TransportError

log = logging.getLogger("bitbylaw.clients")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0


def is_retryable(exc: Exception) -> bool:
    transient = isinstance(exc, RateLimited | ServerError | TransportError)
    return transient and not getattr(exc, "exhausted", False)


def for_non_idempotent(exc: ApiError) -> ApiError:
    """A write that may have been processed must not be repeated: say so with OutcomeUnknown."""
    maybe_processed = isinstance(exc, ServerError) or (isinstance(exc, TransportError) and not exc.not_sent)
    if not maybe_processed:
        return exc
    return OutcomeUnknown(
        exc.system, exc.method, exc.route, exc.status, f"outcome unknown after: {exc.message}"
    )


def _log_backoff(details: Any) -> None:
    exc = details.get("exception")
    if isinstance(exc, ApiError):
        log.warning(
            "%s %s %s: retry %d in %.2f s after %s",
            exc.system, exc.method, exc.route, details["tries"], details["wait"],
            exc.status if exc.status is not None else "no response",
        )  # fmt: skip


async def with_retries(policy: RetryPolicy, idempotent: bool, attempt: Callable[[int], Awaitable[T]]) -> T:
    """Run `attempt(n)` (n = 1, 2, …) until it returns, fails for good, or tries run out."""
    try:
        result: T = await _retrying(policy)(attempt, itertools.count(1), idempotent)
        return result
    except ApiError as exc:
        exc.exhausted = True
        raise


async def _once(attempt: Callable[[int], Awaitable[T]], numbers: Iterator[int], idempotent: bool) -> T:
    try:
        return await attempt(next(numbers))
    except ApiError as exc:
        converted = exc if idempotent else for_non_idempotent(exc)
        if converted is not exc:
            raise converted from exc
        raise


@functools.lru_cache(maxsize=64)
def _retrying(policy: RetryPolicy) -> Callable[..., Awaitable[Any]]:
    """The backoff wrapper of `_once` for a policy, built once: building it on every call cost
    about a tenth of a client call."""
    return backoff.on_exception(
        backoff.expo,
        ApiError,
        max_tries=policy.max_tries,
        giveup=lambda e: not is_retryable(e),
        on_backoff=_log_backoff,
        jitter=backoff.full_jitter,
        logger=None,
        factor=policy.base_delay,
        max_value=policy.max_delay,
    )(_once)
