"""The notices of the Kommunikation sync: conflicts (sent by the run whose write resolved them) and
Advoware values EspoCRM would refuse (a person must act; sent once). Messages and once-keys name
ids, kinds and hashes, never values. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from services.beteiligte.kommunikation.read import Entry
from services.beteiligte.kommunikation.variants import Overruled, Want
from services.sync.actions import Notify
from services.sync.fingerprint import value_hash

ENTITY = "CBeteiligte"
SET_NAMES = {"email": "E-Mail-Adressen", "phone": "Telefonnummern"}


@dataclass(frozen=True)
class Who:
    """The party a plan is for: its EspoCRM id, Advoware number and who is notified."""

    record_id: str
    betnr: int | None
    recipient: str | None


def conflict_notice(who: Who, entry: int | str, overruled: Overruled, requires: str) -> Notify:
    message = (
        f"Konflikt bei Beteiligtem {who.betnr}: Kommunikationseintrag {entry} wurde in beiden Systemen "
        "geändert; übernommen wurde der Wert aus EspoCRM."
    )
    key = f"komm_conflict:{who.record_id}:{entry}:{value_hash(*overruled)}"
    return Notify(key, "conflict", ENTITY, who.record_id, who.recipient, message, requires=(requires,))


def primary_notice(who: Who, set_name: str, target: Want, overruled: Want) -> Notify:
    message = (
        f"Konflikt bei Beteiligtem {who.betnr}: der Hauptkontakt der {SET_NAMES.get(set_name, set_name)} "
        "wurde in beiden Systemen unterschiedlich gesetzt; übernommen wurde die Wahl aus EspoCRM."
    )
    key = f"komm_primary:{who.record_id}:{set_name}:{value_hash(target.value, overruled.value)}"
    assert overruled.entry is not None
    requires = (f"komm.{overruled.entry.id}",)
    return Notify(key, "conflict", ENTITY, who.record_id, who.recipient, message, requires=requires)


def rejected_notice(who: Who, entry: Entry) -> Notify:
    """An Advoware e-mail EspoCRM would refuse: not sent, the party stays clean, one notice
    (again only when the value changes)."""
    message = (
        f"Beteiligter {who.betnr}: der Advoware-Kommunikationseintrag {entry.id} enthält eine "
        "E-Mail-Adresse, die EspoCRM nicht annimmt; sie wurde nicht übernommen. Bitte in Advoware "
        "korrigieren."
    )
    key = f"komm_rejected:{who.record_id}:{entry.id}:{value_hash(entry.value)}"
    return Notify(key, "manual_action", ENTITY, who.record_id, who.recipient, message)
