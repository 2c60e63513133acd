"""The firm's custom EspoCRM hook (E5, open point 11).

On create the record starts `pending_sync` unless the request sets a status (the service creates
bank accounts already `clean`, DECISIONS 9). On update, a `clean` record whose sync-relevant
fields change becomes `dirty` — unless the same request sets `syncStatus`, which is how the
service writes data and bookkeeping together without re-marking its own write.
"""

from __future__ import annotations

from typing import Any

from .entities import EntityDef


def run_hooks(
    defn: EntityDef, before: dict[str, Any] | None, after: dict[str, Any], data: dict[str, Any]
) -> None:
    if not defn.sync_fields:
        return
    if before is None:
        if data.get("syncStatus") is None:
            after["syncStatus"] = "pending_sync"
        return
    if "syncStatus" in data or before.get("syncStatus") != "clean":
        return
    if any(before.get(f) != after.get(f) for f in defn.sync_fields):
        after["syncStatus"] = "dirty"
