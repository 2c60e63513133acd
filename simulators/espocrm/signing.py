"""Webhook body serialisation and signatures, byte for byte as EspoCRM sends them (2.3).

The body is PHP `json_encode` output: compact, `/` escaped as `\\/`, non-ASCII as `\\uXXXX`.
Receivers must verify the bytes they received, never a re-serialised JSON, so the simulator
signs exactly the bytes it sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def php_json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    # A literal "/" only occurs inside JSON strings, so escaping it everywhere is exact.
    return text.replace("/", "\\/").encode("ascii")


def signature(webhook_id: str, secret: str, body: bytes) -> str:
    """EspoCRM ≥ 9: base64(webhookId + ":" + lowercase hex HMAC-SHA256(secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return base64.b64encode(f"{webhook_id}:{digest}".encode()).decode()


def legacy_signature(webhook_id: str, secret: str, body: bytes) -> str:
    """`X-Signature`: base64(webhookId + ":" + raw 32-byte HMAC-SHA256(secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(webhook_id.encode() + b":" + digest).decode()


def signature_headers(webhook_id: str, secret: str | None, body: bytes) -> dict[str, str]:
    if not secret:
        return {}
    return {
        "Signature": signature(webhook_id, secret, body),
        "X-Signature": legacy_signature(webhook_id, secret, body),
    }
