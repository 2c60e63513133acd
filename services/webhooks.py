"""EspoCRM webhook signatures (EXTERNAL_SYSTEMS 2.3, DECISIONS 14), free of I/O.

EspoCRM ≥ 9 sends `Signature: base64(webhookId + ":" + hex(HMAC_SHA256(secret, body)))`; every
version also sends the legacy `X-Signature: base64(webhookId + ":" + raw HMAC_SHA256 bytes)`.
Both cover the raw body bytes exactly as received. The secret is the one of the webhook id named
in the header (a map), or one secret for all webhooks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class WebhookSecrets:
    default: str = ""
    by_webhook_id: Mapping[str, str] | None = None

    @property
    def configured(self) -> bool:
        return bool(self.default or self.by_webhook_id)

    def secret_for(self, webhook_id: str) -> str | None:
        if self.by_webhook_id and webhook_id in self.by_webhook_id:
            return self.by_webhook_id[webhook_id]
        return self.default or None


def _split(header: str) -> tuple[str, bytes] | None:
    try:
        decoded = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    webhook_id, sep, signature = decoded.partition(b":")
    if not sep or not webhook_id:
        return None
    try:
        return webhook_id.decode("ascii"), signature
    except UnicodeDecodeError:
        return None


def verify_signature(raw_body: bytes, headers: Mapping[str, str], secrets: WebhookSecrets) -> bool:
    """True when `Signature` or `X-Signature` (header names lower-cased) is valid for the body.
    With no secret configured every request is accepted (signing is optional in EspoCRM)."""
    if not secrets.configured:
        return True
    for name, as_hex in (("signature", True), ("x-signature", False)):
        header = headers.get(name)
        parts = _split(header) if header else None
        if parts is None:
            continue
        webhook_id, presented = parts
        secret = secrets.secret_for(webhook_id)
        if not secret:
            continue
        digest = hmac.new(secret.encode(), raw_body, hashlib.sha256)
        expected = digest.hexdigest().encode() if as_hex else digest.digest()
        if hmac.compare_digest(presented, expected):
            return True
    return False
