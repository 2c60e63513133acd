"""Auth cases for the engine tests: a key checked before the body is read, a signature over the
raw body, and a check that crashes."""

import hashlib
import hmac
import logging

from pydantic import BaseModel

from engine import ApiResponse, HttpAuth, http


class Doc(BaseModel):
    n: int


def signature(raw: bytes) -> str:
    return hmac.new(b"example-secret", raw, hashlib.sha256).hexdigest()


def _has_key(request, ctx):
    ctx.body_seen_by_auth = request.raw_body
    logging.getLogger("example.auth").info("key checked")  # carries the request's trace context
    return request.headers.get("x-key") == "k1"


async def _signed(request, ctx):
    return hmac.compare_digest(request.headers.get("x-sig", ""), signature(request.raw_body))


def _crashes(request, ctx):
    raise RuntimeError("secret detail of a broken check")


KEY = HttpAuth(
    _has_key, {"Key": {"type": "apiKey", "in": "header", "name": "X-Key"}}, detail="X-Key required"
)
SIGNED = HttpAuth(
    _signed,
    {"Sig": {"type": "apiKey", "in": "header", "name": "X-Sig"}},
    over_body=True,
    error="invalid_signature",
    detail="X-Sig required",
)
BROKEN = HttpAuth(_crashes, {})

config = {
    "name": "example-auth",
    "flows": ["example"],
    "triggers": [
        http("POST", "/keyed", body=Doc, auth=KEY, responses={200: Doc}),
        http("POST", "/signed", body=Doc, auth=SIGNED),
        http("GET", "/broken-auth", auth=BROKEN),
    ],
    "enqueues": [],
}


async def handler(request, ctx):
    seen = getattr(ctx, "body_seen_by_auth", None)
    return ApiResponse(200, {"n": request.body.n, "auth_saw_body": bool(seen)})
