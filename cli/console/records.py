"""One record's page: its status on both sides and in the service database, its audit trail,
and the operator's "sync now" / "dry run" — the same calls as `bitbylaw sync beteiligte ID
[--dry-run]` (`run_sync`: the party service's `handle`).

Only bookkeeping is shown: status, ids, counters, times, the service's error text (names fields,
never values) and the audit trail as stored (masked unless AUDIT_SHOW_VALUES).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from services.clients.errors import NotFound
from services.operator_views import synced_entity
from steps import deps

from ..errors import CliError
from ..party_ops import audit_details, plan_lines, run_sync
from .views import ServiceScope, attempt, error_line

RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # EspoCRM ids; it goes into API paths
ESPOCRM_FIELDS = (
    "syncStatus",
    "betnr",
    "advowareLastSync",
    "syncErrorMessage",
    "syncRetryCount",
    "syncNextRetry",
    "syncAutoResetAt",
    "advowareDeletedAt",
    "modifiedAt",
)
AUDIT_ROWS = 50
TRIGGER = "cli:console"


@dataclass
class Side:
    name: str
    state: str  # found | not found | unreachable | not linked
    fields: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class SyncResult:
    status: str
    error: str | None
    lines: list[str]
    dry_run: bool


def known(entity: str, entity_id: str) -> bool:
    """Only synced entities and plausible ids have a page."""
    return synced_entity(entity) is not None and RECORD_ID.fullmatch(entity_id) is not None


async def record_page(scope: ServiceScope, entity: str, entity_id: str) -> dict[str, Any]:
    service, error = await attempt(deps.beteiligte_service(scope))
    espo = Side("EspoCRM", "unreachable", [("error", error)])
    advo = Side("Advoware", "unknown")
    if service is not None:
        espo, betnr = await _espocrm_side(service, entity, entity_id)
        advo = await _advoware_side(service, betnr)
    stored, audit_error = await attempt(_stored(scope, entity, entity_id))
    database, audit = stored or (Side("service database", "unreachable", [("error", audit_error)]), [])
    return {
        "entity": entity,
        "entity_id": entity_id,
        "sides": [espo, advo, database],
        "audit": audit,
        "audit_error": audit_error,
    }


async def _stored(scope: ServiceScope, entity: str, entity_id: str) -> tuple[Side, list[Any]]:
    """The service database's side and the audit trail (one source: down for both at once)."""
    db = await deps.database(scope)
    entries = await db.list_audit(entity, entity_id, limit=AUDIT_ROWS)
    return await _database_side(db, entity, entity_id), [(e, audit_details(e)) for e in entries]


async def _espocrm_side(service: Any, entity: str, entity_id: str) -> tuple[Side, Any]:
    try:
        record = await service.espo.get(entity, entity_id, select=list(ESPOCRM_FIELDS))
    except NotFound:
        return Side("EspoCRM", "not found"), None
    except Exception as exc:
        return Side("EspoCRM", "unreachable", [("error", error_line(exc))]), None
    return Side("EspoCRM", "found", [(f, record.get(f)) for f in ESPOCRM_FIELDS]), record.get("betnr")


async def _advoware_side(service: Any, betnr: Any) -> Side:
    if not betnr:
        return Side("Advoware", "not linked")
    try:
        party = await service.advo.get_party(int(betnr))
    except NotFound:
        return Side("Advoware", "not found", [("betNr", betnr)])
    except Exception as exc:
        return Side("Advoware", "unreachable", [("betNr", betnr), ("error", error_line(exc))])
    return Side("Advoware", "found", [("betNr", betnr), ("rowId", party.get("rowId"))])


async def _database_side(db: Any, entity: str, entity_id: str) -> Side:
    state = await db.get_sync_state(entity_id)
    block = await db.get_block(entity, entity_id)
    intent = await db.get_intent(entity_id)
    rows: list[tuple[str, Any]] = []
    if state is not None:
        rows += [("snapshot of betNr", state.betnr), ("last synced", state.updated_at)]
        if state.mismatch_fields:
            rows.append(("round trip did not stick", ", ".join(state.mismatch_fields)))
    if block is not None:
        rows += [("blocked", block.reason), ("blocked since", block.created_at)]
    if intent is not None:
        rows += [("create intent since", intent.created_at), ("intent betNr", intent.betnr)]
    return Side("service database", "found" if rows else "no sync state", rows)


async def sync_now(
    scope: ServiceScope, entity_id: str, *, dry_run: bool, show_values: bool, trace_id: str
) -> SyncResult:
    """The party's sync now (or its preview), as the CLI runs it; failures as the CLI says them.
    Its trigger `cli:console` makes it an operator run as `cli` does (the backoff of a failed
    record is ignored) and names the console in the audit trail."""
    try:
        service = await deps.beteiligte_service(scope)
        outcome = await run_sync(
            service, entity_id, dry_run=dry_run, direction="both", trigger=TRIGGER, trace_id=trace_id
        )
    except CliError as exc:
        return SyncResult("refused", str(exc), [], dry_run)
    except Exception as exc:
        return SyncResult("error", error_line(exc), [], dry_run)
    return SyncResult(outcome.status, outcome.error, plan_lines(outcome.plan, show_values), dry_run)
