"""IBANs with ISO 13616 mod-97 check digits: valid German IBANs for seed data, and the check
EspoCRM's `invalidIbanChecksum` validation makes."""

from __future__ import annotations

import re

_FORMAT = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")


def _as_digits(text: str) -> str:
    # Letters count as 10..35 (A=10) in the mod-97 check.
    return "".join(str(int(c, 36)) for c in text)


def check_digits(country: str, bban: str) -> str:
    remainder = int(_as_digits(bban + country + "00")) % 97
    return f"{98 - remainder:02d}"


def german_iban(blz: str, account: str) -> str:
    bban = blz + account.zfill(10)
    return "DE" + check_digits("DE", bban) + bban


def is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    if not _FORMAT.fullmatch(compact):
        return False
    return int(_as_digits(compact[4:] + compact[:4])) % 97 == 1
