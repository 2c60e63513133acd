"""What a party's sync run reads before it decides, in ONE statement: the record's block, its
sync state (snapshot), its create intent and whether notices of it wait to be sent.

Read one by one these were four round trips per run (to the SQLite driver's thread or to the
PostgreSQL server), and under concurrent syncs each round trip also waits behind the others'
writes; the benchmark in the README measures the difference. The rows are turned into values by
the stores' own converters, so the result equals what `get_block`, `get_sync_state` and
`get_intent` return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .blocks import BlockStore
from .intents import IntentStore
from .models import Block, Intent, JsonDict, PartySyncState
from .snapshots import PartySnapshotStore

_PARTS = {  # prefix of the result columns: (table alias, its columns)
    "block": ("b", ("entity_type", "entity_id", "reason", "fingerprint", "modified_at", "created_at")),
    "state": ("s", ("espo_id", "betnr", "snapshot", "mismatch_fields", "updated_at")),
    "intent": ("i", ("espo_id", "fingerprint", "betnr", "created_at", "updated_at", "payload")),
}
_COLUMNS = ", ".join(
    f"{alias}.{column} AS {part}_{column}" for part, (alias, columns) in _PARTS.items() for column in columns
)
_SQL = f"""
SELECT {_COLUMNS},
    (SELECT COUNT(*) FROM notifications_sent n
     WHERE n.entity_type = $1 AND n.entity_id = k.id AND n.sent_at IS NULL AND n.message IS NOT NULL
    ) AS waiting_notices
FROM (SELECT CAST($2 AS TEXT) AS id) k
LEFT JOIN sync_blocks b ON b.entity_type = $1 AND b.entity_id = k.id
LEFT JOIN party_sync_state s ON s.espo_id = k.id
LEFT JOIN party_create_intents i ON i.espo_id = k.id
"""


@dataclass(frozen=True)
class PartyRunState:
    block: Block | None
    sync_state: PartySyncState | None
    intent: Intent | None
    waiting_notices: int  # recorded in the outbox, not sent yet

    @property
    def snapshot(self) -> JsonDict | None:
        return self.sync_state.snapshot if self.sync_state is not None else None


class PartyRunStateStore(PartySnapshotStore, IntentStore, BlockStore):
    async def get_party_run_state(self, entity_type: str, espo_id: str) -> PartyRunState:
        row = await self._driver.fetchrow(_SQL, entity_type, espo_id)
        if row is None:  # the one-row FROM always yields a row; guard for the type checker
            raise RuntimeError("run state query returned no row")
        parts: dict[str, dict[str, Any]] = {
            part: {column: row[f"{part}_{column}"] for column in columns}
            for part, (_, columns) in _PARTS.items()
        }
        block, state, intent = parts["block"], parts["state"], parts["intent"]
        return PartyRunState(
            block=self._block(block) if block["entity_id"] is not None else None,
            sync_state=self._state_from_row(state) if state["espo_id"] is not None else None,
            intent=self._intent_from_row(intent) if intent["espo_id"] is not None else None,
            waiting_notices=int(row["waiting_notices"]),
        )
