"""The sync state of one bank account as the rules see it (the database row without its time),
and the new rows from what the runner applied: every write names its account's state item
`bank.<EspoCRM id>` (value: the new `Row`, or None to drop it). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.bankverbindungen.fields import Values

PREFIX = "bank."


def item(account_id: str) -> str:
    return PREFIX + account_id


@dataclass(frozen=True)
class Row:
    account_id: str
    party_id: str
    betnr: int | None
    konto_id: int | None
    fields: Values
    wanted: Values | None = None  # EspoCRM's values waiting to be made by hand in Advoware
    tombstone: bool = False
    manual: bool = False

    @property
    def live(self) -> bool:
        return not self.tombstone


def changes(*sources: Mapping[str, Any]) -> tuple[dict[str, Row], list[str]]:
    """(rows to store by account id, account ids to forget) from state items, later sources win."""
    merged: dict[str, Any] = {}
    for source in sources:
        merged.update({k: v for k, v in source.items() if k.startswith(PREFIX)})
    keep = {k[len(PREFIX) :]: v for k, v in merged.items() if isinstance(v, Row)}
    drop = [k[len(PREFIX) :] for k, v in merged.items() if v is None]
    return keep, drop
