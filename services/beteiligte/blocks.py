"""Putting a party on hold until a person acts or its content changes (DECISIONS 25, 26, 33).

`invalid` (a person without lastName), `manual_action` (a kind mismatch at first link) and
`duplicate_suspected` (several Advoware parties match) are written with their message and one
notice, no retry counter and no Advoware call; the block remembers the content fingerprint, so
the record is synced again as soon as it is edited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.beteiligte.context import PartyDeps, Run, content_fingerprint, log
from services.beteiligte.mapping import advo_kind, espo_kind
from services.beteiligte.ports import Status, SyncOutcome
from services.beteiligte.rules import ENTITY, recipient_of
from services.sync.actions import Notify
from services.sync.fingerprint import value_hash

INVALID_NO_LASTNAME = "person without lastName: fill in lastName or firmenname"


def missing_last_name(record: Mapping[str, Any]) -> bool:
    return not str(record.get("firmenname") or "").strip() and not str(record.get("lastName") or "").strip()


async def hold(
    deps: PartyDeps,
    run: Run,
    record: Mapping[str, Any],
    status: Status,
    message: str,
    *,
    notice_kind: str,
    notice_text: str,
    extra: Mapping[str, Any] | None = None,
) -> SyncOutcome:
    run.error = message
    run.decision["blocked"] = status
    if run.dry_run:
        return SyncOutcome(run.entity_id, "dry_run", error=message)
    notice = Notify(
        f"{notice_kind}:{run.entity_id}:{value_hash(message)}",
        notice_kind,
        ENTITY,
        run.entity_id,
        recipient_of(record, None, deps.settings.admin_user_id),
        notice_text,
    )
    fingerprint = content_fingerprint({**record, **(extra or {})}, run.addresses)
    await deps.records.block(record, status, message, fingerprint=fingerprint, notice=notice, extra=extra)
    log.warning("party %s: %s (%s)", run.entity_id, status, notice_kind)
    return SyncOutcome(run.entity_id, status, error=message)


async def kind_conflict(
    deps: PartyDeps, run: Run, record: Mapping[str, Any], betnr: int, advo: Mapping[str, Any]
) -> SyncOutcome:
    """A person on one side, a company on the other, at first link: a person decides (DECISIONS 25)."""
    mine, theirs = espo_kind(record), advo_kind(advo)
    message = f"kind mismatch: EspoCRM {run.entity_id} is a {mine}, Advoware party {betnr} a {theirs}"
    text = (
        f"Beteiligter {run.entity_id} (EspoCRM, {mine}) und Advoware-Beteiligter {betnr} ({theirs}) sind "
        "nicht von derselben Art; nichts wurde geschrieben. Bitte von Hand verknüpfen oder die Art "
        "korrigieren."
    )
    return await hold(
        deps, run, record, "manual_action", message, notice_kind="kind_mismatch", notice_text=text
    )
