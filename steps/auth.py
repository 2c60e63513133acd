"""How the HTTP steps authenticate their callers: the engine runs these checks
before it reads (keys) or parses (signatures) a body. Not a step file (no `_step.py` suffix).

- `PROXY_KEY`: a key from `PROXY_API_KEYS` in `X-API-Key`, `apikey` or `Authorization: Bearer`;
  the proxy and every other keyed endpoint use it.
- `ESPOCRM_SIGNATURE`: EspoCRM's webhook signature over the raw body.
"""

from __future__ import annotations

from typing import Any

from engine import ApiRequest, HttpAuth
from services.proxy import is_authorized
from services.webhooks import verify_signature
from steps.deps import settings_of, webhook_secrets


def _has_proxy_key(request: ApiRequest, ctx: Any) -> bool:
    return is_authorized(request.headers, settings_of(ctx).proxy_keys())


def _signed_by_espocrm(request: ApiRequest, ctx: Any) -> bool:
    return verify_signature(request.raw_body, request.headers, webhook_secrets(ctx))


PROXY_KEY = HttpAuth(
    check=_has_proxy_key,
    schemes={
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "LegacyApiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "apikey",
            "description": "the header the old gateway checked",
        },
        "Bearer": {"type": "http", "scheme": "bearer", "description": "the same key as a bearer token"},
    },
    detail="send a valid key in X-API-Key, apikey or Authorization: Bearer",
)

_SIGNATURE = "base64(webhookId + ':' + {}(HMAC-SHA256(secret, raw body)))"
ESPOCRM_SIGNATURE = HttpAuth(
    check=_signed_by_espocrm,
    schemes={
        "EspoSignature": {
            "type": "apiKey",
            "in": "header",
            "name": "Signature",
            "description": "EspoCRM ≥ 9: " + _SIGNATURE.format("hex"),
        },
        "EspoLegacySignature": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": "every EspoCRM version: " + _SIGNATURE.format("raw bytes of"),
        },
    },
    over_body=True,
    error="invalid_signature",
    detail="Signature or X-Signature required",
)
