"""The in-memory EspoCRM: one table of records per entity, the id generator, the acting user, and
listeners told about every API write (the webhook queue is one of them).

Seeding and snapshot loading write tables directly and tell no listener: they fire no webhooks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import records
from .config import EspoSimConfig
from .entities import ENTITIES, EntityDef
from .errors import ApiError, not_found
from .records import Record, SaveContext
from .timefmt import format_datetime


@dataclass(frozen=True)
class ChangeEvent:
    """One API write: `data` is the full record (create), the changed attributes plus `id`
    (update) or `{"id"}` (delete)."""

    entity: str
    action: str
    record_id: str
    data: Record
    changed: tuple[str, ...]
    user_id: str


Listener = Callable[[ChangeEvent], None]


class IdFactory:
    """17 lowercase hex characters, like EspoCRM's ids; deterministic per seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def next(self) -> str:
        return format(self._rng.getrandbits(68), "017x")


class EspoState:
    def __init__(self, config: EspoSimConfig) -> None:
        self.config = config
        self.listeners: list[Listener] = []
        self.tables: dict[str, dict[str, Record]] = {}
        self.acting_user: str | None = None
        self.ids = IdFactory(config.id_seed)
        self.clear()

    def clear(self) -> None:
        self.tables = {name: {} for name in ENTITIES}
        self.acting_user = None
        self.ids = IdFactory(self.config.id_seed)

    def now(self) -> str:
        return format_datetime(self.config.clock())

    def definition(self, entity: str) -> EntityDef:
        defn = ENTITIES.get(entity)
        if defn is None:
            raise ApiError(404, f"entity type {entity} not found")
        return defn

    def table(self, entity: str) -> dict[str, Record]:
        self.definition(entity)
        return self.tables[entity]

    def get(self, entity: str, record_id: str) -> Record:
        record = self.table(entity).get(record_id)
        if record is None:
            raise not_found(entity, record_id)
        return record

    def new_id(self, entity: str) -> str:
        table = self.table(entity)
        while (record_id := self.ids.next()) in table:
            pass
        return record_id

    def _context(self, user_id: str) -> SaveContext:
        return SaveContext(user_id=user_id, now=self.now(), validate_iban=self.config.validate_iban)

    def create(self, entity: str, data: Record, user_id: str, notify: bool = True) -> Record:
        defn = self.definition(entity)
        record = records.create(defn, self.new_id(entity), data, self._context(user_id))
        self.tables[entity][record["id"]] = record
        if notify:
            self._emit(ChangeEvent(entity, "create", record["id"], dict(record), tuple(record), user_id))
        return record

    def update(self, entity: str, record_id: str, data: Record, user_id: str) -> Record:
        before = self.get(entity, record_id)
        after = records.update(self.definition(entity), before, data, self._context(user_id))
        self.tables[entity][record_id] = after
        changed = records.changed_attributes(before, after)
        if changed:  # a save that changes nothing sends nothing (2.3)
            item = {"id": record_id, **{k: after[k] for k in changed}}
            self._emit(ChangeEvent(entity, "update", record_id, item, tuple(changed), user_id))
        return after

    def delete(self, entity: str, record_id: str, user_id: str) -> None:
        self.get(entity, record_id)
        del self.tables[entity][record_id]
        self._emit(ChangeEvent(entity, "delete", record_id, {"id": record_id}, (), user_id))

    def insert_raw(self, entity: str, record: Record) -> None:
        """Seed/snapshot path: no hooks, no listeners."""
        self.tables[entity][record["id"]] = record

    def _emit(self, event: ChangeEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def dump(self) -> dict[str, Any]:
        return {name: list(table.values()) for name, table in self.tables.items()}

    def counts(self) -> dict[str, int]:
        return {name: len(table) for name, table in self.tables.items()}
