"""How the answer of an Advoware party write settles the plan (the `settle` of its `Call`).

The answer of a PUT (or of the POST, with the stored record the executor read after it) says
what Advoware really holds: fields that stuck advance to the target; a field that did not stick
advances to what Advoware stored, so the next run sees EspoCRM "changed" and tries again, and
the same mismatch twice is a round-trip block (`roundtrip.py`). The answer also contributes the
new rowId (and after a POST the betnr, kept even when a later write fails) to the record's one
EspoCRM write, and on a mismatch the failure bookkeeping that replaces `clean`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from services.beteiligte.mapping import Kind, Party, advo_to_party, canonical_name_of_advoware
from services.beteiligte.roundtrip import judge_roundtrip, mismatch_fingerprint, validate_roundtrip
from services.sync.actions import Notify, Patch, Settle, Settlement

if TYPE_CHECKING:
    from services.beteiligte.rules import Facts

ENTITY = "CBeteiligte"
MISMATCH = "roundtripMismatch"  # state item: the last mismatch record (None: the write stuck)


def unwrap(record: Any) -> Any:
    """Advoware answers GET/PUT with an object or a one-element list (A3, A4)."""
    if isinstance(record, list):
        return record[0] if record else None
    return record


def stored_of(answer: Any) -> Mapping[str, Any] | None:
    """The party as Advoware stored it: a PUT answer, or the `stored` of a create answer."""
    answer = unwrap(answer)
    if isinstance(answer, Mapping) and "stored" in answer:
        return unwrap(answer["stored"])
    return answer if isinstance(answer, Mapping) else None


def settle_write(
    record: Mapping[str, Any],
    sent: Mapping[str, Any],
    fields: Sequence[str],
    target: Party,
    kind: Kind,
    snapshot: Mapping[str, Any] | None,
    facts: Facts,
    recipient: str | None,
) -> Settle:
    record_id = str(record["id"])

    def settle(answer: Any) -> Settlement:
        advances: dict[str, Any] = {f"party.{f}": target.get(f) for f in fields}
        link: dict[str, Any] = {}
        answer = unwrap(answer)
        if isinstance(answer, Mapping) and "stored" in answer:  # the executor's create answer
            link["betnr"] = int(answer["betNr"])
        stored = stored_of(answer)
        row_id = (stored or {}).get("rowId") or (answer or {}).get("rowId")
        if row_id:
            link["advowareRowId"] = row_id
        patches: tuple[Patch, ...] = (Patch(ENTITY, record_id, link, keep="betnr" in link),) if link else ()
        mismatched = validate_roundtrip(sent, stored) if stored is not None else []
        if not mismatched:
            return Settlement({**advances, MISMATCH: None}, patches)
        held = advo_to_party(stored or {}, kind)
        for attr in mismatched:
            canon = canonical_name_of_advoware(attr)
            if canon is not None and canon in fields:
                advances[f"party.{canon}"] = held.get(canon)
        previous = (snapshot or {}).get(MISMATCH)
        verdict, mismatch = judge_roundtrip(
            mismatched, mismatch_fingerprint(mismatched, sent, stored or {}), previous
        )
        message = f"Advoware hat die Felder {', '.join(mismatched)} nicht übernommen (Round-Trip-Prüfung)."
        failure = facts.retry.on_failure(record, message, facts.now, permanent=verdict == "permanent")
        status = str(failure.fields.get("syncStatus") or record.get("syncStatus"))
        patches += (Patch(ENTITY, record_id, failure.fields, {"status": status}),)
        notices: tuple[Notify, ...] = ()
        if failure.notify:
            party = record.get("betnr") or record_id
            text = f"Synchronisation von Beteiligtem {party} endgültig fehlgeschlagen: {message}"
            key = f"permanently_failed:{record_id}:{mismatch['fingerprint'] if mismatch else ''}"
            notices = (
                Notify(key, "permanently_failed", ENTITY, record_id, recipient, text, requires=("status",)),
            )
        return Settlement({**advances, MISMATCH: mismatch}, patches, problem=message, notices=notices)

    return settle
