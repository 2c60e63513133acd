"""Round-trip validation after an Advoware party write (SYNC_RULES §1 "Round-trip validation").

After a PUT (or the POST's stored record) every sent field is compared,
normalised, with what Advoware answered. A mismatch is a failure naming the fields, never
`clean`; the same mismatch (same fields, same values) twice in a row is a round-trip block:
permanently failed without auto-reset until the record's content changes (a field Advoware
always ignores must not be retried forever). Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from services.beteiligte.mapping import (
    ADVOWARE_ACCEPTED_FIELDS,
    canonical_name_of_advoware,
    clean_text,
    parse_date,
)

Verdict = Literal["ok", "retry", "permanent"]


def _comparable(attr: str, value: Any) -> Any:
    if canonical_name_of_advoware(attr) == "geburtsdatum":
        try:
            return parse_date(value)
        except ValueError:
            return clean_text(value)
    return clean_text(value)


def validate_roundtrip(sent: Mapping[str, Any], stored: Mapping[str, Any]) -> list[str]:
    """Advoware attributes whose stored value differs from what was sent (normalised), sorted.
    Every accepted attribute of the body is checked (a PUT body carries all of them, so the
    critical ones — name, vorname, rechtsform — always are): a field Advoware ignores would
    otherwise be re-sent on every sync."""
    checked = set(sent) & ADVOWARE_ACCEPTED_FIELDS
    return sorted(a for a in checked if _comparable(a, sent.get(a)) != _comparable(a, stored.get(a)))


def mismatch_fingerprint(
    mismatched: Sequence[str], sent: Mapping[str, Any], stored: Mapping[str, Any]
) -> str:
    """A short hash of (field, sent, stored): no personal data in clear."""
    rows = [
        [a, str(_comparable(a, sent.get(a))), str(_comparable(a, stored.get(a)))] for a in sorted(mismatched)
    ]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def judge_roundtrip(
    mismatched: Sequence[str], fingerprint: str, previous: Mapping[str, Any] | None
) -> tuple[Verdict, dict[str, Any] | None]:
    """Verdict, and the mismatch record to keep in the snapshot (None: the write stuck)."""
    if not mismatched:
        return "ok", None
    same = previous is not None and previous.get("fingerprint") == fingerprint
    verdict: Verdict = "permanent" if same else "retry"
    return verdict, {"fields": sorted(mismatched), "fingerprint": fingerprint, "permanent": same}
