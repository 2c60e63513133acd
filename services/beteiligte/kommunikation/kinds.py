"""Kinds of Kommunikation entries (Advoware `kommKz`), the EspoCRM set and type of each, and how
values are compared.

| kommKz | name | EspoCRM | a new EspoCRM item becomes |
| --- | --- | --- | --- |
| 1 TelGesch | phone `Office` | `Office` → 1 |
| 2 FaxGesch | phone `Fax` | `Fax` → 2 |
| 3 Mobil | phone `Mobile` | `Mobile` → 3 |
| 4 MailGesch | e-mail | e-mail → 4 |
| 6 TelPrivat | phone `Home` | `Home` → 6 |
| 7 FaxPrivat | phone `Fax` | — |
| 8 MailPrivat | e-mail | — |
| 9 AutoTelefon | phone `Other` | — |
| 10 Sonstige | phone `Other` | `Other` → 10 |
| 5, 11, 12 | Internet, EPost, Bea | never synced, never written |

Values are compared normalised: e-mail trimmed and lower-cased, phone without any whitespace (no
other reformatting); each side is given the other side's value as that side holds it. Pure.
"""

from __future__ import annotations

import re
from typing import Literal

SetName = Literal["email", "phone"]
SETS: tuple[SetName, ...] = ("email", "phone")

NAMES: dict[int, str] = {
    1: "TelGesch",
    2: "FaxGesch",
    3: "Mobil",
    4: "MailGesch",
    5: "Internet",
    6: "TelPrivat",
    7: "FaxPrivat",
    8: "MailPrivat",
    9: "AutoTelefon",
    10: "Sonstige",
    11: "EPost",
    12: "Bea",
}
EMAIL_KINDS = frozenset({4, 8})
PHONE_KINDS = frozenset({1, 2, 3, 6, 7, 9, 10})
SYNCED_KINDS = EMAIL_KINDS | PHONE_KINDS
LEFT_ALONE = frozenset({5, 11, 12})

# EspoCRM phone type → the kind of a new Advoware entry, and the kind → the type an entry that
# arrives from Advoware gets in EspoCRM.
KIND_OF_TYPE: dict[str, int] = {"Office": 1, "Fax": 2, "Mobile": 3, "Home": 6, "Other": 10}
TYPE_OF_KIND: dict[int, str] = {
    1: "Office",
    2: "Fax",
    3: "Mobile",
    6: "Home",
    7: "Fax",
    9: "Other",
    10: "Other",
}

# What EspoCRM accepts as an e-mail address; anything else it refuses with a validation error.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPACE = re.compile(r"\s+")


def valid_kind(value: object) -> int | None:
    """`kommKz` 1–12 as an int; 0 (the read quirk), junk and None → None."""
    try:
        kind = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return kind if 1 <= kind <= 12 else None


def set_of(kind: int) -> SetName | None:
    if kind in EMAIL_KINDS:
        return "email"
    if kind in PHONE_KINDS:
        return "phone"
    return None


def kind_by_pattern(value: str) -> int:
    """The last step of kind detection: an `@` makes an e-mail (4), anything else a phone (1)."""
    return 4 if "@" in value else 1


def kind_for_item(set_name: SetName, espo_type: str | None) -> int:
    """The kind of a new Advoware entry for an EspoCRM item (phones by type; unknown type → 1)."""
    if set_name == "email":
        return 4
    return KIND_OF_TYPE.get(espo_type or "", 1)


def type_for_kind(kind: int) -> str | None:
    """The EspoCRM type of an entry that arrives from Advoware (e-mails have none)."""
    return None if kind in EMAIL_KINDS else TYPE_OF_KIND.get(kind, "Other")


def normalise(set_name: SetName, value: str) -> str:
    if set_name == "email":
        return value.strip().lower()
    return _SPACE.sub("", value)


def espo_would_reject(set_name: SetName, value: str) -> bool:
    """An Advoware value EspoCRM would refuse (the whole write would fail): never sent."""
    return set_name == "email" and not EMAIL_RE.match(value.strip())
