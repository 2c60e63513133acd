"""The sync marker in an Advoware entry's note (`bemerkung`).

Entries the service writes carry `[ESPOCRM:<base64 of the synced value>:<kommKz>] <user text>`;
an emptied entry (a slot, since Advoware refuses deletes) carries `[ESPOCRM-SLOT:<kommKz>]
<user text>`. The user's text after the marker is kept verbatim. A note whose marker cannot be
read (bad base64, a kind outside 1–12) counts as having no marker: its user text is the whole
note. Markers are written lazily, only when the entry is written anyway. Pure.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_ENTRY = re.compile(r"^\[ESPOCRM:([A-Za-z0-9+/]*={0,2}):(\d{1,2})\]")
_SLOT = re.compile(r"^\[ESPOCRM-SLOT:(\d{1,2})\]")


@dataclass(frozen=True)
class Note:
    user_text: str
    kind: int | None = None  # the marker's kind (either form)
    value: str | None = None  # the synced value in an entry marker
    slot_marker: bool = False


def _kind(text: str) -> int | None:
    kind = int(text)
    return kind if 1 <= kind <= 12 else None


def _rest(note: str, end: int) -> str:
    rest = note[end:]
    return rest[1:] if rest.startswith(" ") else rest


def parse(bemerkung: object) -> Note:
    note = bemerkung if isinstance(bemerkung, str) else ""
    slot = _SLOT.match(note)
    if slot and (kind := _kind(slot.group(1))) is not None:
        return Note(_rest(note, slot.end()), kind, None, True)
    entry = _ENTRY.match(note)
    if entry and (kind := _kind(entry.group(2))) is not None:
        try:
            value = base64.b64decode(entry.group(1), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return Note(note)
        return Note(_rest(note, entry.end()), kind, value)
    return Note(note)


def _with_text(marker: str, user_text: str) -> str:
    return f"{marker} {user_text}" if user_text else marker


def entry_note(value: str, kind: int, user_text: str = "") -> str:
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    return _with_text(f"[ESPOCRM:{encoded}:{kind}]", user_text)


def slot_note(kind: int, user_text: str = "") -> str:
    return _with_text(f"[ESPOCRM-SLOT:{kind}]", user_text)
