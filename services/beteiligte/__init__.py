"""Beteiligte (party) sync between EspoCRM `CBeteiligte` and Advoware `Beteiligte`: the pure core.

- `mapping`: both systems ↔ one canonical `Party` (normalised sync-relevant fields), payloads.
- `diff`: who changed what since the snapshot, the merged target, conflicts.
- `plan`: `plan_sync(...) -> Plan`, the decision of one sync (no I/O).
- `bookkeeping`: failure/retry bookkeeping, cron selection, round-trip validation.

Nothing here does I/O or imports `engine`, `steps`, `cli` or `simulators`.
"""

from services.beteiligte.diff import Conflict
from services.beteiligte.mapping import FIELDS, Party
from services.beteiligte.plan import NOT_FOUND, Notification, Plan, plan_sync

__all__ = ["FIELDS", "NOT_FOUND", "Conflict", "Notification", "Party", "Plan", "plan_sync"]
