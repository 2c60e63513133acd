"""JSON snapshot files of the simulators' state: written atomically, read back when present."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any, indent: int | None = None) -> None:
    """Write then rename, so a crash mid-write never leaves a truncated snapshot behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any | None:
    """The file's JSON, or None when there is no snapshot yet."""
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
