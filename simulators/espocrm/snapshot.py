"""Optional JSON snapshot of the simulator's records (webhook subscriptions included), so a
sandbox keeps its CRM across restarts. Loaded at start, saved on shutdown and on demand."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .entities import ENTITIES
from .state import EspoState

VERSION = 1


def save(state: EspoState, path: str) -> dict[str, Any]:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    # Write then rename: a crash mid-write never leaves a truncated snapshot behind.
    tmp.write_text(json.dumps({"version": VERSION, "tables": state.dump()}, ensure_ascii=False), "utf-8")
    os.replace(tmp, target)
    return {"path": str(target), "counts": state.counts()}


def load(state: EspoState, path: str) -> bool:
    source = Path(path)
    if not source.exists():
        return False
    data = json.loads(source.read_text("utf-8"))
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported EspoCRM snapshot version in {path}")
    for entity, rows in data.get("tables", {}).items():
        if entity in ENTITIES:
            for record in rows:
                state.insert_raw(entity, record)
    return True
