"""Verification of a service-account JWT grant (RFC 7523), as Google's token endpoint does it.

Written against `cryptography` directly, not with the library that signs (google-auth), so a
flaw in how the client builds its assertion is not hidden by the same code reading it. Each
refusal carries the OAuth error code and the description Google answers with.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from simulators.google.keys import ServiceAccountKey

CALENDAR_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/calendar",
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.readonly",
    }
)
MAX_LIFETIME_S = 3600  # Google refuses assertions valid for longer than an hour
CLOCK_SKEW_S = 300
_TIMEFRAME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


class GrantRefused(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class Grant:
    """A verified assertion: who asked (`service_account`), for whom (`principal`: the
    delegated user, or the service account itself) and for which scopes."""

    service_account: str
    principal: str
    scopes: frozenset[str]


def verify_assertion(
    assertion: str,
    keys: Sequence[ServiceAccountKey],
    audience: str,
    users: Collection[str],
    now_s: float,
) -> Grant:
    header, claims, signing_input, signature = _split(assertion)
    if header.get("alg") != "RS256":
        raise GrantRefused("invalid_grant", "Invalid JWT: algorithm must be RS256.")
    issuer = claims.get("iss")
    candidates = [k for k in keys if k.email == issuer]
    if not candidates:
        raise GrantRefused("invalid_grant", "Invalid grant: account not found")
    kid = header.get("kid")
    if kid is not None:
        candidates = [k for k in candidates if k.key_id == kid]
    if not any(_signature_ok(k, signing_input, signature) for k in candidates):
        raise GrantRefused("invalid_grant", "Invalid JWT Signature.")
    if claims.get("aud") != audience:
        raise GrantRefused("invalid_grant", "Invalid JWT: Failed audience check.")
    _check_times(claims, now_s)
    scopes = frozenset(str(claims.get("scope") or "").split())
    if not scopes:
        raise GrantRefused("invalid_scope", "Empty or missing scope not allowed.")
    if not scopes <= CALENDAR_SCOPES:
        raise GrantRefused(
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not "
            "authorized for any of the scopes requested.",
            status=401,
        )
    subject = claims.get("sub")
    if subject is not None and (not isinstance(subject, str) or subject.lower() not in users):
        raise GrantRefused("invalid_grant", "Invalid email or User ID")
    principal = subject.lower() if isinstance(subject, str) else str(issuer)
    return Grant(str(issuer), principal, scopes)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _split(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = assertion.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three parts")
        header, claims = json.loads(_b64(parts[0])), json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise GrantRefused("invalid_grant", "Invalid JWT.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise GrantRefused("invalid_grant", "Invalid JWT.")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), signature


def _signature_ok(key: ServiceAccountKey, signing_input: bytes, signature: bytes) -> bool:
    public = serialization.load_pem_public_key(key.public_pem.encode())
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _check_times(claims: dict[str, Any], now_s: float) -> None:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise GrantRefused("invalid_grant", _TIMEFRAME)
    # A client clock a little ahead is tolerated for `iat`; an expired assertion never is.
    if iat > now_s + CLOCK_SKEW_S or exp <= now_s or exp - iat > MAX_LIFETIME_S or exp <= iat:
        raise GrantRefused("invalid_grant", _TIMEFRAME)
