"""The Advoware proxy's rules, free of I/O: who may call it and which paths it forwards.

Callers authenticate with a key from `PROXY_API_KEYS` in `X-API-Key`, `apikey` (the header the
old gateway checked) or `Authorization: Bearer`. Only relative paths below the Advoware API root
are forwarded: no leading `/`, scheme, host, `//`, dot segments (also `..;param`), backslashes,
control characters, compatibility characters (NFKC), encoded or double-encoded tricks, over-long
paths; and only paths under an allowed prefix (`PROXY_ALLOWED_PREFIXES`), so neither Advoware's
token endpoint nor anything else outside the API is reached.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import unquote

# Characters allowed in a decoded path: letters (incl. umlauts), digits and a few safe marks.
_SAFE_SEGMENT = re.compile(r"^[\w\-.~!$&'()*+,;=]+$", re.UNICODE)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


class ProxyPathError(ValueError):
    """The path is not a relative API path; the message says why (safe to show the caller)."""


def caller_key(headers: Mapping[str, str]) -> str | None:
    """The key the caller presented, from any of the accepted headers (names lower-cased)."""
    for name in ("x-api-key", "apikey"):
        if headers.get(name):
            return headers[name].strip()
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def is_authorized(headers: Mapping[str, str], keys: Iterable[str]) -> bool:
    """Constant-time comparison against every configured key; no key configured = nobody."""
    presented = caller_key(headers)
    if not presented:
        return False
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(presented.encode(), key.encode())
    return ok


def normalise_prefixes(raw: str) -> list[str]:
    """`PROXY_ALLOWED_PREFIXES` (comma-separated) → path prefixes without leading or trailing `/`."""
    return [p.strip().strip("/") for p in raw.split(",") if p.strip().strip("/")]


def check_allowed(path: str, prefixes: Sequence[str]) -> None:
    """Raise ProxyPathError unless the validated `path` is one of `prefixes` or below one, segment
    by segment (`api/v1/advonet` does not admit `api/v1/advonetX`), compared without case as
    Advoware's IIS host compares paths."""
    folded = path.casefold()
    for prefix in prefixes:
        p = prefix.casefold()
        if folded == p or folded.startswith(p + "/"):
            return
    allowed = ", ".join(f"{p}/" for p in prefixes) or "(none configured)"
    raise ProxyPathError(f"path is not under an allowed prefix: {allowed}")


def validate_proxy_path(raw: str | None, max_length: int = 512) -> str:
    """Return the decoded relative path or raise ProxyPathError (a leading `/` is refused)."""
    if raw is None or not raw.strip():
        raise ProxyPathError("path required as query param (path= or endpoint=)")
    if len(raw) > max_length:
        raise ProxyPathError(f"path longer than {max_length} characters")
    if _PERCENT.sub("", raw).count("%"):
        raise ProxyPathError("path contains a malformed percent-encoding")
    try:
        decoded = unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise ProxyPathError("path is not valid UTF-8 after decoding") from exc
    if "%" in decoded:
        raise ProxyPathError("path is encoded twice")
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in decoded):
        raise ProxyPathError("path contains control or whitespace characters")
    if unicodedata.normalize("NFKC", decoded) != decoded:
        # Fullwidth or compatibility forms (`ａｐｉ`, `⒈`) that a server may normalise into
        # other characters after this check.
        raise ProxyPathError("path contains compatibility characters (not NFKC-normalised)")
    if "\\" in decoded or ":" in decoded or "?" in decoded or "#" in decoded:
        raise ProxyPathError("path must be a relative API path (no scheme, host, query or fragment)")
    if decoded.startswith("/"):
        raise ProxyPathError("path must be relative: no leading '/'")
    if "//" in decoded:
        raise ProxyPathError("path must not contain '//'")
    for segment in decoded.split("/"):
        # `..;x` is `..` to servers that cut path parameters off before resolving dot segments.
        if not segment.split(";", 1)[0].strip("."):
            raise ProxyPathError("path must not contain empty, '.' or '..' segments")
        if not _SAFE_SEGMENT.match(segment):
            raise ProxyPathError("path contains characters not allowed in an API path")
    return decoded
