"""What the address sync tells people. The `CAdressen` record's `syncErrorMessage` holds the exact
instruction (field, Advoware's value, the wanted value, which Advoware address): it is the
firm's own data in its own CRM. Notices and once-keys name ids and field names only. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.beteiligte.kommunikation.notices import Who
from services.sync.actions import Notify
from services.sync.fingerprint import value_hash

ENTITY = "CBeteiligte"
MAX_MESSAGE = 2000


def _where(who: Who, advo_id: int | None, index: Any) -> str:
    at = f"Adresse {advo_id}" + (f" (Position {index})" if index is not None else "")
    return f"{at} des Beteiligten {who.betnr}"


def instruction(who: Who, advo_id: int | None, index: Any, wishes: Mapping[str, tuple[Any, Any]]) -> str:
    """The `syncErrorMessage` of an address waiting for a change by hand in Advoware."""
    changes = "; ".join(f"{f}: von {_show(a)} auf {_show(e)}" for f, (a, e) in sorted(wishes.items()))
    text = (
        f"Advoware übernimmt diese Änderung nicht per Schnittstelle. Bitte in Advoware bei "
        f"{_where(who, advo_id, index)} von Hand ändern: {changes}. Danach gleicht die nächste "
        "Synchronisation den Status wieder an."
    )
    return text[:MAX_MESSAGE]


def twins_instruction(who: Who, advo_ids: Sequence[int]) -> str:
    listed = ", ".join(map(str, advo_ids))
    return (
        f"Mehrere Advoware-Adressen des Beteiligten {who.betnr} tragen die Kennung dieser Adresse "
        f"(Adressen {listed}). Bitte in Advoware die überzählige Adresse löschen oder ihre Bemerkung "
        "ändern; bis dahin wird diese Adresse nicht synchronisiert."
    )


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(leer)"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    return repr(value)


def manual_notice(who: Who, espo_id: str, fields: Sequence[str], requires: str | None) -> Notify:
    message = (
        f"Adresse {espo_id} von Beteiligtem {who.betnr}: die Änderung von {', '.join(sorted(fields))} "
        "muss in Advoware von Hand nachgetragen werden (Anleitung im Feld syncErrorMessage der Adresse)."
    )
    key = f"address_manual:{who.record_id}:{espo_id}:{value_hash(sorted(fields))}"
    return Notify(
        key, "manual_action", ENTITY, who.record_id, who.recipient, message, requires=_req(requires)
    )


def twins_notice(who: Who, espo_id: str, advo_ids: Sequence[int]) -> Notify:
    message = f"Adresse {espo_id} von Beteiligtem {who.betnr}: {twins_instruction(who, advo_ids)}"
    key = f"address_twins:{who.record_id}:{espo_id}:{value_hash(list(advo_ids))}"
    return Notify(key, "manual_action", ENTITY, who.record_id, who.recipient, message)


def tombstone_notice(who: Who, espo_id: str, advo_id: int, index: Any) -> Notify:
    message = (
        f"Adresse {espo_id} wurde in EspoCRM gelöscht. Advoware erlaubt kein Löschen per "
        f"Schnittstelle: bitte {_where(who, advo_id, index)} in Advoware von Hand löschen."
    )
    key = f"address_deleted:{who.record_id}:{espo_id}:{advo_id}"
    return Notify(key, "manual_action", ENTITY, who.record_id, who.recipient, message)


def conflict_notice(who: Who, espo_id: str, overruled: Mapping[str, Any], requires: str) -> Notify:
    """`overruled`: field → (EspoCRM's value, Advoware's value); only the hash is kept."""
    message = (
        f"Konflikt bei Beteiligtem {who.betnr}: Adresse {espo_id} ({', '.join(sorted(overruled))}) wurde "
        "in beiden Systemen geändert; übernommen wurde der Wert aus EspoCRM."
    )
    key = f"address_conflict:{who.record_id}:{espo_id}:{value_hash(sorted(overruled.items()))}"
    return Notify(key, "conflict", ENTITY, who.record_id, who.recipient, message, requires=(requires,))


def _req(item: str | None) -> tuple[str, ...]:
    return (item,) if item else ()
