"""Content fingerprints: "has this record changed since it was blocked?" (DECISIONS 26).

The one use of a content hash in the sync (everything else compares with the snapshot): a
blocked record is synced again only when its fingerprint differs from the one stored at the
block. Each entity says which of its values count; the hash is over their canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def value_hash(*values: Any) -> str:
    """Short hash of values: once-keys must not hold personal data in clear."""
    return hashlib.sha256(json.dumps(values, default=str, sort_keys=True).encode()).hexdigest()[:16]


def fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
