"""Identifiers and etags: base32hex event ids (G10), calendar ids, instance ids (G7), etags."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime

_BASE32HEX = re.compile(r"[a-v0-9]{5,1024}")
_ALPHABET = "0123456789abcdefghijklmnopqrstuv"


def valid_event_id(event_id: str) -> bool:
    """Client-chosen ids: lowercase base32hex (`a-v`, `0-9`), 5 to 1024 characters."""
    return bool(_BASE32HEX.fullmatch(event_id))


def base32hex(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 32)
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def generated_event_id(namespace: str, counter: int) -> str:
    """A server-chosen id: 26 base32hex characters, deterministic per simulator run."""
    digest = hashlib.sha256(f"event:{namespace}:{counter}".encode()).digest()
    return base32hex(digest, 26)


def generated_calendar_id(namespace: str, counter: int) -> str:
    digest = hashlib.sha256(f"calendar:{namespace}:{counter}".encode()).hexdigest()
    return f"c_{digest[:52]}@group.calendar.google.com"


def instance_id(master_id: str, original_start: datetime | date) -> str:
    """`<masterId>_<YYYYMMDDTHHMMSSZ>` for timed series, `<masterId>_<YYYYMMDD>` for all-day."""
    if isinstance(original_start, datetime):
        return f"{master_id}_{original_start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return f"{master_id}_{original_start.strftime('%Y%m%d')}"


def split_instance_id(event_id: str) -> tuple[str, datetime | date] | None:
    """The master id and original start encoded in an instance id, or None."""
    master, sep, stamp = event_id.rpartition("_")
    if not sep or not master:
        return None
    try:
        if len(stamp) == 16 and stamp.endswith("Z"):
            return master, datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if len(stamp) == 8:
            return master, datetime.strptime(stamp, "%Y%m%d").date()
    except ValueError:
        return None
    return None


def etag(updated: datetime, change_seq: int) -> str:
    """Google's event etags are quoted 16-digit numbers; ours are updated-ms plus the change
    number, so every change yields a new one (G5)."""
    millis = int(updated.timestamp() * 1000)
    return f'"{millis:013d}{change_seq % 1000:03d}"'
