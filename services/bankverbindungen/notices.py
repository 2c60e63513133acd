"""What the account sync tells people (SYNC_RULES §4, §7). The account's `syncErrorMessage` holds
the exact instruction (which fields, Advoware's value, EspoCRM's value, which Advoware account):
it is the firm's own data in its own CRM. Notices and once-keys name ids and field names only.
Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.bankverbindungen.fields import ENTITY, FIELDS, LABELS, PARTY_ENTITY
from services.sync.actions import Notify
from services.sync.fingerprint import value_hash

MAX_MESSAGE = 2000


def _show(value: Any) -> str:
    return "(leer)" if value in (None, "") else repr(value)


def _where(betnr: Any, konto_id: Any) -> str:
    return f"Bankverbindung {konto_id} des Beteiligten {betnr}"


def instruction(betnr: Any, konto_id: Any, advo: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    """The exact step for a person: Advoware cannot change an account through its API."""
    changes = "; ".join(
        f"{LABELS[f]} von {_show(advo.get(f))} auf {_show(wanted.get(f))}"
        for f in FIELDS
        if advo.get(f) != wanted.get(f)
    )
    text = (
        "Advoware übernimmt Änderungen an Bankverbindungen nicht per Schnittstelle. Bitte in Advoware "
        f"bei der {_where(betnr, konto_id)} von Hand ändern: {changes}. Danach setzt die nächste "
        "Synchronisation des Beteiligten den Status wieder auf clean."
    )
    return text[:MAX_MESSAGE]


def changed_notice(
    account_id: str,
    betnr: Any,
    konto_id: Any,
    fields: Sequence[str],
    wanted: Mapping[str, Any],
    recipient: str | None,
    *,
    requires: tuple[str, ...] = (),
) -> Notify:
    """One per value change (the key hashes the wanted values)."""
    names = ", ".join(LABELS[f] for f in fields)
    message = (
        f"Bankverbindung {account_id}: die Änderung von {names} muss in Advoware bei der "
        f"{_where(betnr, konto_id)} von Hand nachgetragen werden (Anleitung im Feld syncErrorMessage)."
    )
    key = f"bank_changed:{account_id}:{value_hash(sorted(wanted.items()))}"
    return Notify(key, "manual_action", ENTITY, account_id, recipient, message, requires=requires)


def deleted_notice(
    account_id: str, party_id: str, betnr: Any, konto_id: Any, recipient: str | None
) -> Notify:
    message = (
        f"Bankverbindung {account_id} wurde in EspoCRM gelöscht. Advoware erlaubt kein Löschen per "
        f"Schnittstelle: bitte die {_where(betnr, konto_id)} in Advoware von Hand löschen."
    )
    key = f"bank_deleted:{account_id}:{konto_id}"
    return Notify(key, "manual_action", PARTY_ENTITY, party_id, recipient, message)


def invalid_notice(account_id: str, message: str, fingerprint: str, recipient: str | None) -> Notify:
    text = f"Bankverbindung {account_id} kann nicht nach Advoware übertragen werden: {message}"
    return Notify(f"bank_invalid:{account_id}:{fingerprint}", "invalid", ENTITY, account_id, recipient, text)


def failed_notice(account_id: str, message: str, episode: str, recipient: str | None) -> Notify:
    text = f"Synchronisation der Bankverbindung {account_id} endgültig fehlgeschlagen: {message}"
    key = f"permanently_failed:{account_id}:{episode}"
    return Notify(key, "permanently_failed", ENTITY, account_id, recipient, text)
