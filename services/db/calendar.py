"""Calendar sync state: the appointment mappings and the per-employee state (migration
`calendar`, SYNC_RULES §5).

Mappings are saved whole (`save_calendar_mapping`, or many in one transaction): the sync
computes the new row from what was applied and stores it, so a failed write never advances
its side. Uniqueness — one mapping per (Kürzel, frNr) and per (calendar, event id) — is checked
before writing and guarded by unique indexes, and reported as `CalendarMappingExists` on both
engines. Timestamps go in and come out timezone-aware UTC (naive ones are refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from services.calendar.mappings import CalendarEmployee, CalendarMapping, MappingStatus

from .clock import require_utc
from .driver import Executor
from .models import OutboxNotification
from .store import StoreBase


class CalendarMappingExists(ValueError):
    """Another mapping already holds this (Kürzel, frNr) or (calendar, event id)."""


_TS_COLUMNS = frozenset(
    {"google_updated", "mapped_start", "mapped_end", "next_retry_at", "created_at", "updated_at",
     "last_full_sync", "last_success", "adopted_at"}
)  # fmt: skip
_DATA = [f.name for f in fields(CalendarMapping) if f.name not in ("id", "created_at", "updated_at")]
_MAPPING_COLUMNS = ", ".join(["id", *_DATA, "created_at", "updated_at"])
_INSERT = (
    f"INSERT INTO calendar_mappings ({', '.join([*_DATA, 'created_at', 'updated_at'])}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_DATA) + 3))}) "
    f"ON CONFLICT DO NOTHING RETURNING {_MAPPING_COLUMNS}"
)
_UPDATE = (
    f"UPDATE calendar_mappings SET {', '.join(f'{c} = ${i}' for i, c in enumerate(_DATA, start=2))}, "
    f"updated_at = ${len(_DATA) + 2} WHERE id = $1 RETURNING {_MAPPING_COLUMNS}"
)
_CLASH = (
    "SELECT id FROM calendar_mappings WHERE id <> $1 AND ("
    "(kuerzel = $2 AND advoware_frnr = $3) OR (calendar_id = $4 AND google_event_id = $5)) LIMIT 1"
)
_EMPLOYEE_COLUMNS = [f.name for f in fields(CalendarEmployee) if f.name != "updated_at"]
_EMPLOYEE_SELECT = f"SELECT {', '.join(_EMPLOYEE_COLUMNS)}, updated_at FROM calendar_employees"
_EMPLOYEE_UPSERT = (
    f"INSERT INTO calendar_employees ({', '.join(_EMPLOYEE_COLUMNS)}, updated_at) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_EMPLOYEE_COLUMNS) + 2))}) "
    f"ON CONFLICT (kuerzel) DO UPDATE SET "
    f"{', '.join(f'{c} = excluded.{c}' for c in [*_EMPLOYEE_COLUMNS[1:], 'updated_at'])} "
    f"RETURNING {', '.join(_EMPLOYEE_COLUMNS)}, updated_at"
)


class CalendarStore(StoreBase):
    # -- mappings ------------------------------------------------------------------------------
    async def insert_calendar_mapping(self, mapping: CalendarMapping) -> CalendarMapping:
        """Store a new mapping (its `id` must be None); CalendarMappingExists if its frNr or
        event id is mapped already."""
        return await self._insert(self._driver, mapping)

    async def save_calendar_mapping(self, mapping: CalendarMapping) -> CalendarMapping:
        """Insert (`id` None) or replace the stored row; the stored mapping comes back.
        LookupError if the row was deleted meanwhile."""
        async with self._driver.transaction() as tx:
            return await self._save(tx, mapping)

    async def save_calendar_mappings(self, mappings: Sequence[CalendarMapping]) -> list[CalendarMapping]:
        """Several saves in one transaction: all of them or none."""
        async with self._driver.transaction() as tx:
            return [await self._save(tx, m) for m in mappings]

    async def store_calendar_changes(
        self,
        saves: Sequence[CalendarMapping] = (),
        deletes: Sequence[int] = (),
        notices: Sequence[OutboxNotification] = (),
    ) -> list[CalendarMapping]:
        """What one plan applied, in one transaction: mappings removed (first, so a save may take
        over their frNr or event id), mappings saved, and the notices the plan earned (the
        outbox: never lost between the state and its sending). The saved mappings come back."""
        async with self._driver.transaction() as tx:
            for mapping_id in deletes:
                await tx.execute("DELETE FROM calendar_mappings WHERE id = $1", mapping_id)
            saved = [await self._save(tx, m) for m in saves]
            if notices:
                await self.enqueue_notifications(notices, tx)  # type: ignore[attr-defined]
        return saved

    async def get_calendar_mapping(self, mapping_id: int) -> CalendarMapping | None:
        return await self._mapping_where("id = $1", mapping_id)

    async def mapping_by_frnr(self, kuerzel: str, frnr: int) -> CalendarMapping | None:
        return await self._mapping_where("kuerzel = $1 AND advoware_frnr = $2", kuerzel, int(frnr))

    async def mapping_by_event(self, calendar_id: str, event_id: str) -> CalendarMapping | None:
        return await self._mapping_where("calendar_id = $1 AND google_event_id = $2", calendar_id, event_id)

    async def list_calendar_mappings(
        self, kuerzel: str, *, status: MappingStatus | None = None
    ) -> list[CalendarMapping]:
        """Every mapping of one employee (a few hundred), oldest first."""
        sql = f"SELECT {_MAPPING_COLUMNS} FROM calendar_mappings WHERE kuerzel = $1"
        args: list[Any] = [kuerzel]
        if status is not None:
            sql += " AND status = $2"
            args.append(status)
        rows = await self._driver.fetch(sql + " ORDER BY id", *args)
        return [self._mapping_from_row(r) for r in rows]

    async def count_calendar_mappings(self, kuerzel: str) -> int:
        row = await self._driver.fetchrow(
            "SELECT COUNT(*) AS n FROM calendar_mappings WHERE kuerzel = $1", kuerzel
        )
        return int(row["n"]) if row is not None else 0

    async def record_calendar_failure(
        self, mapping_id: int, reason: str, next_retry_at: datetime | None
    ) -> CalendarMapping:
        """Count one more failure (status `failed`, reason, when to retry); None for
        `next_retry_at`: wait until either side changes. LookupError without the row."""
        retry = self._driver.dump_ts(require_utc(next_retry_at, "next_retry_at")) if next_retry_at else None
        row = await self._driver.fetchrow(
            "UPDATE calendar_mappings SET status = 'failed', failure_count = failure_count + 1, "
            "failure_reason = $2, next_retry_at = $3, updated_at = $4 "
            f"WHERE id = $1 RETURNING {_MAPPING_COLUMNS}",
            mapping_id,
            reason[:1000],
            retry,
            self._driver.dump_ts(self._now()),
        )
        if row is None:
            raise LookupError(f"no calendar mapping {mapping_id}")
        return self._mapping_from_row(row)

    async def delete_calendar_mapping(self, mapping_id: int) -> bool:
        return await self._driver.execute("DELETE FROM calendar_mappings WHERE id = $1", mapping_id) > 0

    async def delete_calendar_mappings(self, kuerzel: str) -> int:
        """Forget every mapping of one employee (the next run adopts the calendar anew)."""
        return await self._driver.execute("DELETE FROM calendar_mappings WHERE kuerzel = $1", kuerzel)

    # -- per employee --------------------------------------------------------------------------
    async def get_calendar_employee(self, kuerzel: str) -> CalendarEmployee | None:
        row = await self._driver.fetchrow(f"{_EMPLOYEE_SELECT} WHERE kuerzel = $1", kuerzel)
        return self._employee_from_row(row) if row is not None else None

    async def save_calendar_employee(self, employee: CalendarEmployee) -> CalendarEmployee:
        """Insert or replace the employee's row."""
        args = [self._column_value(c, getattr(employee, c)) for c in _EMPLOYEE_COLUMNS]
        row = await self._driver.fetchrow(_EMPLOYEE_UPSERT, *args, self._driver.dump_ts(self._now()))
        assert row is not None  # RETURNING always yields the row
        return self._employee_from_row(row)

    async def record_calendar_success(
        self, kuerzel: str, sync_token: str | None, *, full: bool
    ) -> CalendarEmployee:
        """A run applied everything: keep the listing's new token, stamp the success (and the
        full listing, when it was one). LookupError without the employee's row."""
        now = self._driver.dump_ts(self._now())
        row = await self._driver.fetchrow(
            "UPDATE calendar_employees SET sync_token = $2, last_success = $3, "
            "last_full_sync = CASE WHEN $4 THEN $3 ELSE last_full_sync END, updated_at = $3 "
            f"WHERE kuerzel = $1 RETURNING {', '.join(_EMPLOYEE_COLUMNS)}, updated_at",
            kuerzel,
            sync_token,
            now,
            bool(full),
        )
        if row is None:
            raise LookupError(f"no calendar state for {kuerzel!r}")
        return self._employee_from_row(row)

    async def clear_calendar_sync_token(self, kuerzel: str) -> bool:
        """After a 410: the next listing is a full one. True if a token was dropped."""
        count = await self._driver.execute(
            "UPDATE calendar_employees SET sync_token = NULL, updated_at = $2 "
            "WHERE kuerzel = $1 AND sync_token IS NOT NULL",
            kuerzel,
            self._driver.dump_ts(self._now()),
        )
        return count > 0

    async def set_calendar_braking(self, kuerzel: str, braking: bool) -> bool:
        """Open or close a safety-brake episode; True only if this call changed it (so the
        admin is notified once per episode, by whoever opened it)."""
        count = await self._driver.execute(
            "UPDATE calendar_employees SET braking = $2, updated_at = $3 "
            "WHERE kuerzel = $1 AND braking <> $2",
            kuerzel,
            bool(braking),
            self._driver.dump_ts(self._now()),
        )
        return count > 0

    async def list_calendar_employees(self) -> list[CalendarEmployee]:
        """Never-synced employees first, then by ascending last success (SYNC_RULES §5)."""
        rows = await self._driver.fetch(
            f"{_EMPLOYEE_SELECT} "
            "ORDER BY CASE WHEN last_success IS NULL THEN 0 ELSE 1 END, last_success, kuerzel"
        )
        return [self._employee_from_row(r) for r in rows]

    # -- rows ----------------------------------------------------------------------------------
    async def _save(self, tx: Executor, mapping: CalendarMapping) -> CalendarMapping:
        if mapping.id is None:
            return await self._insert(tx, mapping)
        clash = await tx.fetchrow(
            _CLASH,
            mapping.id,
            mapping.kuerzel,
            mapping.advoware_frnr,
            mapping.calendar_id,
            mapping.google_event_id,
        )
        if clash is not None:
            raise CalendarMappingExists(f"calendar mapping {clash['id']} holds this frNr or event id")
        row = await tx.fetchrow(
            _UPDATE, mapping.id, *self._data_args(mapping), self._driver.dump_ts(self._now())
        )
        if row is None:
            raise LookupError(f"no calendar mapping {mapping.id}")
        return self._mapping_from_row(row)

    async def _insert(self, executor: Executor, mapping: CalendarMapping) -> CalendarMapping:
        if mapping.id is not None:
            raise ValueError("a new mapping has no id yet")
        now = self._driver.dump_ts(self._now())
        row = await executor.fetchrow(_INSERT, *self._data_args(mapping), now, now)
        if row is None:
            raise CalendarMappingExists("the frNr or the event id is mapped already")
        return self._mapping_from_row(row)

    def _data_args(self, mapping: CalendarMapping) -> list[Any]:
        return [self._column_value(c, getattr(mapping, c)) for c in _DATA]

    def _column_value(self, column: str, value: Any) -> Any:
        if value is not None and column in _TS_COLUMNS:
            return self._driver.dump_ts(require_utc(value, column))
        return value

    async def _mapping_where(self, condition: str, *args: Any) -> CalendarMapping | None:
        row = await self._driver.fetchrow(
            f"SELECT {_MAPPING_COLUMNS} FROM calendar_mappings WHERE {condition}", *args
        )
        return self._mapping_from_row(row) if row is not None else None

    def _mapping_from_row(self, row: Mapping[str, Any]) -> CalendarMapping:
        values = {k: self._load(k, v) for k, v in row.items()}
        frnr = values["advoware_frnr"]
        values["advoware_frnr"] = int(frnr) if frnr is not None else None
        mapping = CalendarMapping(**values)
        return replace(mapping, id=int(row["id"]), failure_count=int(row["failure_count"]))

    def _employee_from_row(self, row: Mapping[str, Any]) -> CalendarEmployee:
        values = {k: self._load(k, v) for k, v in row.items()}
        values["braking"] = bool(values["braking"])
        return CalendarEmployee(**values)

    def _load(self, column: str, raw: Any) -> Any:
        return self._driver.load_ts(raw) if column in _TS_COLUMNS and raw is not None else raw
