"""The calendar's notifications: kinds, once-keys and texts (pure).

Every notice is about one employee's calendar (entity `Calendar`, id = the Kürzel) and goes to
the employee's EspoCRM user (`CALENDAR_NOTIFY_USERS`), else the admin; the brake, a calendar
without e-mail and events waiting for adoption go to the admin. Texts name Termin numbers,
event ids and fixed reasons, never an appointment's subject, note or place (those appear only
in the audit, masked). A once-key names the occurrence (the contents' fingerprints), so the same
conflict or refusal is notified once however often a run meets it, and a new one again.
"""

from __future__ import annotations

from services.sync.actions import Notify
from services.sync.fingerprint import value_hash

ENTITY = "Calendar"
CONFLICT = "conflict"  # both sides changed: the owner's version was kept
RESTORED = "event_restored"  # deleted in Google, restored from Advoware
REVERTED = "change_reverted"  # a Google change Advoware cannot hold, undone (the series is Advoware's)
MANUAL = "manual_action"  # Advoware cannot hold or refused a Google-born change: fix it by hand
INVALID = "invalid"  # an Advoware Termin the sync cannot read
PERMANENT = "permanently_failed"  # failed SYNC_MAX_FAILURES times: waits for a change or the auto-reset
BRAKE = "safety_brake"
ADOPTION = "adoption_pending"  # events of a found calendar wait for `calendar adopt --apply`
NO_EMAIL = "no_email"

OWNER_NAMES = {"advoware": "Advoware", "google": "Google"}


def _notice(kuerzel: str, kind: str, key: str, recipient: str | None, text: str, *requires: str) -> Notify:
    return Notify(f"calendar:{kuerzel}:{kind}:{key}", kind, ENTITY, kuerzel, recipient, text, tuple(requires))


def conflict(
    kuerzel: str, ref: str, winner: str, contents: tuple[str, str], recipient: str | None, requires: str
) -> Notify:
    """Both sides changed (or one deleted what the other changed): `winner`'s version stays."""
    text = (
        f"Kalender {kuerzel}, {ref}: in Advoware und in Google geändert; die Fassung aus "
        f"{OWNER_NAMES[winner]} wurde übernommen, die andere Änderung verworfen."
    )
    return _notice(kuerzel, CONFLICT, f"{ref}:{value_hash(*contents)}", recipient, text, requires)


def restored(kuerzel: str, ref: str, stamp: str, recipient: str | None, requires: str) -> Notify:
    text = (
        f"Kalender {kuerzel}, {ref}: in Google gelöscht und aus Advoware wiederhergestellt. "
        "Termine aus Advoware werden in Advoware gelöscht, nicht in Google."
    )
    return _notice(kuerzel, RESTORED, f"{ref}:{stamp}", recipient, text, requires)


def reverted(kuerzel: str, ref: str, reason: str, stamp: str, recipient: str | None, requires: str) -> Notify:
    text = (
        f"Kalender {kuerzel}, {ref}: die Änderung in Google ({reason}) kann Advoware nicht abbilden "
        "und wurde zurückgenommen; bitte in Advoware ändern."
    )
    return _notice(kuerzel, REVERTED, f"{ref}:{value_hash(reason, stamp)}", recipient, text, requires)


def manual(kuerzel: str, ref: str, reason: str, stamp: str, recipient: str | None) -> Notify:
    text = (
        f"Kalender {kuerzel}, {ref}: nicht nach Advoware übertragen ({reason}); der Google-Termin "
        "bleibt unverändert. Bitte in Google anpassen oder in Advoware von Hand eintragen."
    )
    return _notice(kuerzel, MANUAL, f"{ref}:{value_hash(reason, stamp)}", recipient, text)


def invalid(kuerzel: str, ref: str, reason: str, stamp: str, recipient: str | None) -> Notify:
    text = f"Kalender {kuerzel}, {ref}: nicht nach Google übertragen ({reason}); bitte in Advoware prüfen."
    return _notice(kuerzel, INVALID, f"{ref}:{value_hash(reason, stamp)}", recipient, text)


def permanent(kuerzel: str, ref: str, reason: str, stamp: str, recipient: str | None) -> Notify:
    text = (
        f"Kalender {kuerzel}, {ref}: Synchronisation wiederholt fehlgeschlagen ({reason}); sie wird "
        "wieder versucht, wenn sich der Termin auf einer Seite ändert, spätestens nach der "
        "Wartezeit (SYNC_AUTO_RESET_HOURS)."
    )
    return _notice(kuerzel, PERMANENT, f"{ref}:{stamp}", recipient, text)


def brake(kuerzel: str, creates: int, deletes: int, limit: int, admin: str | None, episode: str) -> Notify:
    text = (
        f"Kalender {kuerzel}: die Synchronisation würde {creates} Termine anlegen und {deletes} löschen "
        f"(Grenze {limit}); nichts wurde geschrieben. Prüfen und mit `bitbylaw sync calendar {kuerzel} "
        "--allow-mass-changes` freigeben."
    )
    return _notice(kuerzel, BRAKE, episode, admin, text)


def adoption(kuerzel: str, unmatched: int, admin: str | None, stamp: str) -> Notify:
    text = (
        f"Kalender {kuerzel}: {unmatched} Google-Termine ohne Gegenstück in Advoware werden nicht "
        f"übertragen, bis `bitbylaw calendar adopt {kuerzel} --apply` sie freigibt."
    )
    return _notice(kuerzel, ADOPTION, stamp, admin, text)


def no_email(kuerzel: str, admin: str | None) -> Notify:
    text = f"Mitarbeiter {kuerzel} hat in Advoware keine E-Mail-Adresse: er bekommt keinen Google-Kalender."
    return _notice(kuerzel, NO_EMAIL, "1", admin, text)
