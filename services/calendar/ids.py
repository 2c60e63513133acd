"""Event ids the service chooses and the Advoware link inside an event.

An event created for Termin `frNr` gets the id `adv{frNr}` (base32hex: `a`, `d`, `v` and
digits; Google wants 5–1024 characters, so frNr is zero-padded to two digits), so a retried
insert whose first answer was lost answers 409 and is adopted (DECISIONS 5). An event deleted in
Google for good cannot be re-inserted under its id (G10): the restore gets `adv{frNr}r{n}`,
n = 1, 2, … The frNr and the Kürzel are also kept in `extendedProperties.private`
(`advowareFrNr`, `kuerzel`), so a lost database is rebuilt from Google without duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

FRNR_KEY = "advowareFrNr"
KUERZEL_KEY = "kuerzel"
_ID = re.compile(r"adv(\d{2,})(?:r([1-9]\d*))?")


def event_id(frnr: int, restore: int = 0) -> str:
    if frnr <= 0 or restore < 0:
        raise ValueError("frNr must be positive and the restore number not negative")
    return f"adv{frnr:02d}" + (f"r{restore}" if restore else "")


def parse_event_id(value: str) -> tuple[int, int] | None:
    """(frNr, restore number) of an id this service chose, else None (also for instance ids
    `adv123_20260302T090000Z`, which belong to a series)."""
    match = _ID.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def next_restore_id(current: str, frnr: int) -> str:
    """The id for re-creating an event that is gone for good: one restore number up."""
    parsed = parse_event_id(current)
    number = parsed[1] if parsed is not None and parsed[0] == frnr else 0
    return event_id(frnr, number + 1)


def private_properties(frnr: int, kuerzel: str) -> dict[str, str]:
    return {FRNR_KEY: str(frnr), KUERZEL_KEY: kuerzel}


def linked_frnr(event: Mapping[str, Any]) -> int | None:
    """The Advoware frNr an event carries in `extendedProperties.private`, if any."""
    props = (event.get("extendedProperties") or {}).get("private") or {}
    value = props.get(FRNR_KEY) if isinstance(props, Mapping) else None
    return int(value) if isinstance(value, str) and value.isdigit() and int(value) > 0 else None


def linked_kuerzel(event: Mapping[str, Any]) -> str | None:
    props = (event.get("extendedProperties") or {}).get("private") or {}
    value = props.get(KUERZEL_KEY) if isinstance(props, Mapping) else None
    return value if isinstance(value, str) and value else None
