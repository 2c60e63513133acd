"""Issued bearer tokens and seen nonces of the simulated Security Gateway.

Kept apart from the domain data: `/_admin/reset` and `/_admin/seed` replace the data but leave
tokens alone (a running client stays logged in), and tokens are never written to a snapshot
(after a restart clients get 401 and fetch a new token, as after a real gateway restart).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable


class TokenStore:
    def __init__(self, clock: Callable[[], float], lifetime_s: float, nonce_window_s: float) -> None:
        self._clock = clock
        self._lifetime_s = lifetime_s
        # A nonce only needs remembering while its timestamp would still be accepted.
        self._nonce_window_s = nonce_window_s
        self._tokens: dict[str, float] = {}
        self._nonces: dict[str, float] = {}

    def issue(self) -> tuple[str, int]:
        token = secrets.token_urlsafe(48)
        self._tokens[token] = self._clock() + self._lifetime_s
        return token, int(self._lifetime_s)

    def check(self, token: str) -> str | None:
        """None when the token is valid, else the reason it is not."""
        expires_at = self._tokens.get(token)
        if expires_at is None:
            return "unknown token"
        if self._clock() >= expires_at:
            return "token expired"
        return None

    def expire_all(self) -> int:
        for token in self._tokens:
            self._tokens[token] = 0.0
        return len(self._tokens)

    def use_nonce(self, nonce: str) -> bool:
        """Record a nonce; False when it was seen before (replay)."""
        now = self._clock()
        self._nonces = {n: t for n, t in self._nonces.items() if now - t <= self._nonce_window_s}
        if nonce in self._nonces:
            return False
        self._nonces[nonce] = now
        return True

    def active_count(self) -> int:
        now = self._clock()
        return sum(1 for exp in self._tokens.values() if exp > now)
