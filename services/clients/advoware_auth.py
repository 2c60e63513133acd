"""The Advoware token request (EXTERNAL_SYSTEMS 1.2): an HMAC-SHA512-signed POST to the
security gateway that answers `{"access_token", "expires_in"}`.

The signature covers `f"{Product}:{AppID}:{Nonce}:{RequestTimeStamp}"` with the base64-decoded
API key. Every attempt gets a fresh nonce and timestamp: the gateway rejects a reused nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import SecretStr


@dataclass(frozen=True)
class AdvowareCredentials:
    app_id: str
    api_key_b64: SecretStr
    kanzlei: str
    database: str
    user: str
    password: SecretStr
    role: int = 2
    product: int = 64


def sign(api_key_b64: str, product: int, app_id: str, nonce: str, timestamp: str) -> str:
    message = f"{product}:{app_id}:{nonce}:{timestamp}".encode()
    key = base64.b64decode(api_key_b64)
    return base64.b64encode(hmac.new(key, message, hashlib.sha512).digest()).decode("ascii")


def utc_timestamp(now: datetime | None = None) -> str:
    """ISO 8601 in UTC with a `Z`, microseconds included (`2021-01-29T14:04:26.795554Z`)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def token_request_body(
    creds: AdvowareCredentials, nonce: str | None = None, timestamp: str | None = None
) -> dict[str, object]:
    nonce = nonce or str(uuid.uuid4())
    timestamp = timestamp or utc_timestamp()
    return {
        "AppID": creds.app_id,
        "Kanzlei": creds.kanzlei,
        "Database": creds.database,
        "User": creds.user,
        "Role": creds.role,
        "Product": creds.product,
        "Password": creds.password.get_secret_value(),
        "Nonce": nonce,
        "RequestTimeStamp": timestamp,
        "HMAC512Signature": sign(
            creds.api_key_b64.get_secret_value(), creds.product, creds.app_id, nonce, timestamp
        ),
    }
