"""Opaque page and sync tokens. Both are base64url JSON, so the simulator stays stateless about
them; a token that does not decode, names another calendar or epoch, or is too old is invalid."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulators.google.errors import bad_request, full_sync_required
from simulators.google.state import GoogleState


def encode_token(prefix: str, payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(prefix: str, token: str) -> dict[str, Any] | None:
    if not token.startswith(prefix):
        return None
    body = token[len(prefix) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class SyncPoint:
    """Where an incremental listing starts: changes with a higher change number."""

    calendar_id: str
    seq: int


def issue_sync_token(state: GoogleState, calendar_id: str, seq: int) -> str:
    issued = int(state.now().timestamp())
    return encode_token("C", {"c": calendar_id, "s": seq, "e": state.epoch, "t": issued})


def read_sync_token(state: GoogleState, calendar_id: str, token: str) -> SyncPoint:
    """G4: anything but a fresh token of this calendar and epoch is 410 fullSyncRequired."""
    data = decode_token("C", token)
    if data is None or data.get("c") != calendar_id or data.get("e") != state.epoch:
        raise full_sync_required()
    seq, issued = data.get("s"), data.get("t")
    if not isinstance(seq, int) or not isinstance(issued, int) or seq > state.change_seq:
        raise full_sync_required()
    try:
        age = state.now() - datetime.fromtimestamp(issued, state.now().tzinfo)
    except (OverflowError, ValueError, OSError) as exc:
        raise full_sync_required() from exc
    if age > timedelta(seconds=state.config.sync_token_lifetime_s):
        raise full_sync_required()
    return SyncPoint(calendar_id, seq)


@dataclass(frozen=True)
class PageCursor:
    """The position after the last item of a page, the change number the listing started at
    (so the final nextSyncToken misses nothing changed while paging) and the query it belongs to."""

    after: list[Any]
    as_of: int
    query: str
    since: int | None = None


def issue_page_token(cursor: PageCursor) -> str:
    return encode_token("P", {"a": cursor.after, "o": cursor.as_of, "q": cursor.query, "s": cursor.since})


def read_page_token(token: str, query: str) -> PageCursor:
    data = decode_token("P", token)
    if (
        data is None
        or data.get("q") != query
        or not isinstance(data.get("a"), list)
        or not isinstance(data.get("o"), int)
        or not isinstance(data.get("s"), int | None)
    ):
        raise bad_request("Invalid page token value.", "invalid", location="pageToken")
    return PageCursor(after=data["a"], as_of=int(data["o"]), query=query, since=data.get("s"))


def issue_offset_token(prefix: str, offset: int, query: str = "") -> str:
    """A page token of a small offset-paged list (calendar list, ACL, instances)."""
    return encode_token(prefix, {"o": offset, "q": query})


def read_offset_token(prefix: str, token: str | None, query: str = "") -> int:
    """The offset a page token continues at (0 without one); a foreign or forged one is 400."""
    if not token:
        return 0
    data = decode_token(prefix, token)
    if data is None or data.get("q", "") != query or not isinstance(data.get("o"), int) or data["o"] < 0:
        raise bad_request("Invalid page token value.", "invalid", location="pageToken")
    return int(data["o"])
