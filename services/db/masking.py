"""Masking of personal data in audit decisions (DECISIONS 17).

Convention for an audit `decision`: field-level details live under a key named `changes` or
`conflicts`, mapping a field name to its values, e.g.

    {"winner": "espocrm",
     "changes": {"name": {"before": "Müller", "after": "Mueller"}},
     "kommunikation": {"changes": {"added": [{"kind": "email", "value": "a@b.de"}]}}}

When values are hidden, every scalar under such a key becomes "***"; keys (field names, "before",
"after"), list lengths, `None` (field empty) and booleans (flags such as "primary") are kept, so
an operator still sees which fields changed and how many entries. Everything outside those keys
is metadata chosen by the service (winner, direction, counts) and is stored as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "***"
VALUE_KEYS = frozenset({"changes", "conflicts"})


def mask_decision(decision: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `decision` with all values under `changes`/`conflicts` keys masked."""
    return {key: _mask_under(key, value) for key, value in decision.items()}


def _mask_under(key: str, value: Any) -> Any:
    if key in VALUE_KEYS:
        return mask_values(value)
    if isinstance(value, Mapping):
        return mask_decision(value)
    if isinstance(value, list | tuple):
        return [mask_decision(v) if isinstance(v, Mapping) else v for v in value]
    return value


def mask_values(value: Any) -> Any:
    """`value` with its structure kept and every personal scalar replaced by MASK."""
    if isinstance(value, Mapping):
        return {str(k): mask_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_values(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return MASK
