"""Example steps record what they did as JSON lines in $EXAMPLE_RECORD_FILE (one file per test),
so in-process and subprocess tests can assert on it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def record(**entry: Any) -> None:
    path = os.environ.get("EXAMPLE_RECORD_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_records(path: str | Path, step: str | None = None) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        return []
    rows = [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    return [r for r in rows if step is None or r.get("step") == step]
