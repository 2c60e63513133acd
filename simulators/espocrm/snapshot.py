"""Optional JSON snapshot of the simulator's records (webhook subscriptions included), so a
sandbox keeps its CRM across restarts. Loaded at start, saved on shutdown and on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulators.common.snapshot import read_json, write_json

from .entities import ENTITIES
from .state import EspoState

VERSION = 1


def save(state: EspoState, path: str) -> dict[str, Any]:
    target = Path(path)
    write_json(target, {"version": VERSION, "tables": state.dump()})
    return {"path": str(target), "counts": state.counts()}


def load(state: EspoState, path: str) -> bool:
    data = read_json(Path(path))
    if data is None:
        return False
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported EspoCRM snapshot version in {path}")
    for entity, rows in data.get("tables", {}).items():
        if entity in ENTITIES:
            for record in rows:
                state.insert_raw(entity, record)
    return True
