"""JSON serialisation shared by both drivers, so both accept and reject exactly the same values.

PostgreSQL's JSONB cannot hold the NUL character (`\\u0000`); SQLite could. Rejecting it on
both engines keeps the contract identical: a value that works in embedded mode works in
production too.
"""

from __future__ import annotations

import json
import re
from typing import Any

# An escaped NUL that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def dumps(value: Any) -> str:
    """Compact JSON text; TypeError for unserialisable values, ValueError for NUL characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise ValueError("JSON values must not contain NUL characters (PostgreSQL cannot store them)")
    return text


loads = json.loads
