"""Audit trail of sync decisions, queryable per record, with a retention period.

Values in a decision are masked unless the database was opened with `show_values=True`
(DECISIONS 17); see `masking.py` for the decision convention. Query strings of recorded API
calls are masked too: the party search of crash recovery carries names in its URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .clock import require_utc
from .masking import MASK, mask_decision
from .models import AuditEntry, AuditRecord, OutcomeCount
from .store import StoreBase

MAX_ERROR_CHARS = 4000
MAX_LIST_LIMIT = 1000
_URL_KEYS = ("path", "url")

_COLUMNS = (
    "id, entity_type, entity_id, trace_id, trigger, action, result, decision, api_calls, error, created_at"
)

_INSERT = """
INSERT INTO audit_log
    (entity_type, entity_id, trace_id, trigger, action, result, decision, api_calls, error, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id
"""


# Entries per entity, result and hour since a time: one range scan of the created_at index.
# SQLite's timestamps are fixed-width UTC text, so the hour is their first 13 characters.
_OUTCOMES = {
    "sqlite": "SELECT entity_type, result, substr(created_at, 1, 13) AS hour, COUNT(*) AS n "
    "FROM audit_log WHERE created_at >= $1 GROUP BY entity_type, result, hour",
    "postgres": "SELECT entity_type, result, date_trunc('hour', created_at AT TIME ZONE 'UTC') AS hour, "
    "COUNT(*) AS n FROM audit_log WHERE created_at >= $1 GROUP BY 1, 2, 3",
}


def mask_api_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """The call with the query string of its path/url replaced by MASK."""
    masked = dict(call)
    for key in _URL_KEYS:
        value = masked.get(key)
        if isinstance(value, str) and "?" in value:
            masked[key] = value.split("?", 1)[0] + "?" + MASK
    return masked


class AuditStore(StoreBase):
    async def add_audit(self, entry: AuditEntry) -> int:
        """Store one decision; returns its id."""
        decision = dict(entry.decision) if self.show_values else mask_decision(entry.decision)
        calls = [dict(c) if self.show_values else mask_api_call(c) for c in entry.api_calls]
        error = entry.error[:MAX_ERROR_CHARS] if entry.error is not None else None
        row = await self._driver.fetchrow(
            _INSERT,
            entry.entity_type,
            entry.entity_id,
            entry.trace_id,
            entry.trigger,
            entry.action,
            entry.result,
            self._driver.dump_json(decision),
            self._driver.dump_json(calls),
            error,
            self._driver.dump_ts(self._now()),
        )
        if row is None:
            raise RuntimeError("insert returned no id")
        return int(row["id"])

    async def list_audit(self, entity_type: str, entity_id: str, limit: int = 50) -> list[AuditRecord]:
        """The record's audit entries, newest first."""
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
        rows = await self._driver.fetch(
            f"SELECT {_COLUMNS} FROM audit_log WHERE entity_type = $1 AND entity_id = $2 "
            "ORDER BY created_at DESC, id DESC LIMIT $3",
            entity_type,
            entity_id,
            limit,
        )
        return [self._record_from_row(r) for r in rows]

    async def count_audit(self) -> int:
        row = await self._driver.fetchrow("SELECT COUNT(*) AS n FROM audit_log")
        return int(row["n"]) if row is not None else 0

    async def audit_outcomes(self, since: datetime) -> list[OutcomeCount]:
        """How many entries each entity type had per result and UTC hour since `since`."""
        cutoff = self._driver.dump_ts(require_utc(since, "since"))
        rows = await self._driver.fetch(_OUTCOMES[self._driver.dialect], cutoff)
        return [OutcomeCount(r["entity_type"], r["result"], _hour(r["hour"]), int(r["n"])) for r in rows]

    async def purge_audit(self, older_than: datetime) -> int:
        """Delete entries created before `older_than`; returns how many."""
        cutoff = self._driver.dump_ts(require_utc(older_than, "older_than"))
        return await self._driver.execute("DELETE FROM audit_log WHERE created_at < $1", cutoff)

    def _record_from_row(self, row: Mapping[str, Any]) -> AuditRecord:
        return AuditRecord(
            id=int(row["id"]),
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            trace_id=row["trace_id"],
            trigger=row["trigger"],
            action=row["action"],
            result=row["result"],
            decision=self._driver.load_json(row["decision"]),
            api_calls=self._driver.load_json(row["api_calls"]),
            error=row["error"],
            created_at=self._driver.load_ts(row["created_at"]),
        )


def _hour(raw: Any) -> datetime:
    """The start of an hour bucket as an aware UTC datetime (SQLite: 'YYYY-MM-DDTHH' text;
    PostgreSQL: a naive UTC timestamp)."""
    if isinstance(raw, str):
        return datetime.strptime(raw, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    return raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw.astimezone(UTC)
