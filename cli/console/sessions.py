"""Console logins: sessions, CSRF tokens and the login throttle, kept in the engine's key-value
state, so every api process of a deployment (one SQLite file, or Redis) knows every session.

- A session id is 32 random bytes in an `HttpOnly`, `SameSite=Strict` cookie; the state holds
  only its SHA-256, so a copy of the state opens no session.
- Each session has its own CSRF token: every form carries it, every POST must send it back.
- A session records a fingerprint of the password it was opened with (scrypt, computed once
  per process): changing `CONSOLE_PASSWORD` ends every session.
- Failed logins are counted per client address; past the limit, logins are refused until the
  window (15 minutes from the first failure) is over.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SESSION_COOKIE = "bitbylaw_console"
# The login form's CSRF token, before a session exists (double submit: cookie and form field).
LOGIN_COOKIE = "bitbylaw_console_login"
SESSIONS_SCOPE = "console-sessions"
FAILURES_SCOPE = "console-login-failures"
FAILURE_WINDOW_S = 900.0


@dataclass(frozen=True)
class Session:
    csrf: str
    expires_at: float


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; an empty or missing value never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _fingerprint(password: str) -> str:
    derived = hashlib.scrypt(password.encode(), salt=b"bitbylaw-console", n=2**14, r=8, p=1, dklen=16)
    return derived.hex()


class Sessions:
    """Sessions over a key-value state with TTL (`engine.context.StateScope`)."""

    def __init__(
        self,
        state: Any,
        password: str,
        lifetime_s: float,
        max_failures: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state, self.lifetime_s, self.max_failures, self.clock = state, lifetime_s, max_failures, clock
        self._password = hashlib.sha256(password.encode()).digest()
        self._fingerprint = _fingerprint(password)

    def password_matches(self, given: str) -> bool:
        return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), self._password)

    async def open(self) -> tuple[str, Session]:
        session_id = new_token()
        session = Session(csrf=new_token(), expires_at=self.clock() + self.lifetime_s)
        value = {"csrf": session.csrf, "expires_at": session.expires_at, "password": self._fingerprint}
        await self.state.set(SESSIONS_SCOPE, _key(session_id), value, ttl=self.lifetime_s)
        return session_id, session

    async def find(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        value = await self.state.get(SESSIONS_SCOPE, _key(session_id))
        if not isinstance(value, dict) or value.get("password") != self._fingerprint:
            return None
        session = Session(csrf=str(value["csrf"]), expires_at=float(value["expires_at"]))
        return session if session.expires_at > self.clock() else None

    async def close(self, session_id: str | None) -> None:
        if session_id:
            await self.state.delete(SESSIONS_SCOPE, _key(session_id))

    async def logins_refused(self, client: str) -> float | None:
        """Seconds until `client` may try again, or None when it may now."""
        value = await self.state.get(FAILURES_SCOPE, client)
        if not isinstance(value, dict) or int(value.get("n", 0)) < self.max_failures:
            return None
        left = float(value["since"]) + FAILURE_WINDOW_S - self.clock()
        return left if left > 0 else None

    async def login_failed(self, client: str) -> None:
        now = self.clock()
        value = await self.state.get(FAILURES_SCOPE, client)
        if not isinstance(value, dict):
            value = {"n": 0, "since": now}
        left = float(value["since"]) + FAILURE_WINDOW_S - now
        if left <= 0:
            value, left = {"n": 0, "since": now}, FAILURE_WINDOW_S
        value = {"n": int(value["n"]) + 1, "since": float(value["since"])}
        await self.state.set(FAILURES_SCOPE, client, value, ttl=left)

    async def login_succeeded(self, client: str) -> None:
        await self.state.delete(FAILURES_SCOPE, client)
