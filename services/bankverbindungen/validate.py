"""Validation of an account before anything is sent (SYNC_RULES §4), with schwifty: after
normalising, a bad or empty IBAN, a BIC of a bad format, the same IBAN twice on one party →
`invalid` with a message saying what to fix. A BIC that does not belong to the IBAN's bank is
only a warning. Messages name fields, never values (the IBAN is personal data). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from services.bankverbindungen.fields import Values

SAME_IBAN = "Diese IBAN ist beim Beteiligten bereits als andere Bankverbindung eingetragen."


def problem(values: Values, party_id: Any, other_ibans: Iterable[str | None]) -> str | None:
    """Why the account cannot be sent (German, for `syncErrorMessage`), or None."""
    if not party_id:
        return "Bankverbindung ohne Beteiligten: bitte einem Beteiligten zuordnen."
    iban = values.get("iban")
    if not iban:
        return "IBAN fehlt: bitte eine IBAN eintragen."
    try:
        IBAN(iban)
    except SchwiftyException as exc:
        return f"IBAN ungültig ({type(exc).__name__}): bitte die IBAN prüfen."
    bic = values.get("bic")
    if bic:
        try:
            BIC(bic)
        except SchwiftyException as exc:
            return f"BIC ungültig ({type(exc).__name__}): bitte die BIC prüfen oder leeren."
    if iban in set(other_ibans):
        return SAME_IBAN
    return None


def bic_mismatch(values: Mapping[str, Any]) -> bool:
    """True when a (valid) BIC does not belong to the IBAN's bank: country or bank code differ."""
    iban_text, bic_text = values.get("iban"), values.get("bic")
    if not iban_text or not bic_text:
        return False
    try:
        iban, bic = IBAN(iban_text), BIC(bic_text)
    except SchwiftyException:
        return False
    if iban.country_code != bic.country_code:
        return True
    codes = bic.domestic_bank_codes
    if codes:
        return iban.bank_code not in codes
    known = iban.bic
    return known is not None and str(known)[:8] != str(bic)[:8]
