"""Both sides of the Kommunikation sync read into small values, plus the per-entry state row.

- `Entry`: one Advoware entry of the party GET, with its kind resolved in the order marker's
  kind → Advoware's own `kommKz` (1–12) → the kind the state recorded for it → (later, when it
  is paired with an EspoCRM item) the item's type → the value's pattern. Entries of kinds 5, 11
  and 12 are left out: never written, never in the state. A `tlf` of only whitespace is a slot.
- `Item`: one item of EspoCRM's `emailAddressData` / `phoneNumberData`, with its flags as read.
- `Row`: what the snapshot holds per synced entry: Advoware id, kind, value, EspoCRM type,
  primary flag and Advoware rowId. Only entries with a value are rows, never slots.
Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.beteiligte.kommunikation.kinds import (
    LEFT_ALONE,
    SetName,
    kind_by_pattern,
    normalise,
    set_of,
    valid_kind,
)
from services.beteiligte.kommunikation.marker import Note, parse

ESPO_KEYS: dict[SetName, tuple[str, str]] = {
    "email": ("emailAddressData", "emailAddress"),
    "phone": ("phoneNumberData", "phoneNumber"),
}


@dataclass(frozen=True)
class Row:
    id: int
    kind: int
    value: str
    type: str | None
    primary: bool
    row_id: str | None = None

    @property
    def set_name(self) -> SetName:
        return set_of(self.kind) or "phone"

    def norm(self) -> str:
        return normalise(self.set_name, self.value)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "value": self.value,
            "type": self.type,
            "primary": self.primary,
            "rowId": self.row_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Row:
        return cls(
            int(data["id"]),
            int(data["kind"]),
            str(data["value"]),
            data.get("type"),
            bool(data.get("primary")),
            data.get("rowId"),
        )


@dataclass(frozen=True)
class Entry:
    id: int
    value: str  # `tlf` as Advoware holds it
    kind: int | None  # None: not known yet (kommKz 0, no marker, no state)
    online: bool
    note: Note
    row_id: str | None = None

    @property
    def slot(self) -> bool:
        return not self.value.strip()

    @property
    def set_name(self) -> SetName:
        known = set_of(self.kind) if self.kind is not None else None
        return known or set_of(kind_by_pattern(self.value)) or "phone"

    def norm(self) -> str:
        return normalise(self.set_name, self.value)


@dataclass(frozen=True)
class Item:
    set_name: SetName
    index: int  # position in EspoCRM's array
    value: str
    type: str | None
    primary: bool
    opt_out: bool = False
    invalid: bool = False

    def norm(self) -> str:
        return normalise(self.set_name, self.value)

    def to_espo(
        self, value: str | None = None, type_: str | None = None, primary: bool | None = None
    ) -> dict[str, Any]:
        """The item as written back: value, type and primary as given, the flags as read."""
        key = ESPO_KEYS[self.set_name][1]
        out: dict[str, Any] = {key: self.value if value is None else value}
        if self.set_name == "phone":
            out["type"] = self.type if type_ is None else type_
        out.update(
            primary=self.primary if primary is None else primary, optOut=self.opt_out, invalid=self.invalid
        )
        return out


def rows_of(snapshot: Mapping[str, Any] | None) -> list[Row]:
    """The state rows of a snapshot; none at all (a party synced before entries were) is an
    initial sync for its entries."""
    return [Row.from_json(r) for r in ((snapshot or {}).get("komm") or [])]


def read_entries(raw: Iterable[Mapping[str, Any]], rows: Sequence[Row]) -> list[Entry]:
    """The synced-kind entries and slots of the party GET (kinds 5, 11, 12 left out)."""
    known = {r.id: r.kind for r in rows}
    out: list[Entry] = []
    for data in raw:
        note = parse(data.get("bemerkung"))
        entry_id = int(data["id"])
        kind = note.kind or valid_kind(data.get("kommKz")) or known.get(entry_id)
        if kind in LEFT_ALONE:
            continue
        tlf = data.get("tlf")
        value = tlf if isinstance(tlf, str) else ""
        out.append(Entry(entry_id, value, kind, bool(data.get("online")), note, data.get("rowId")))
    return sorted(out, key=lambda e: e.id)


def read_items(record: Mapping[str, Any], set_name: SetName) -> list[Item]:
    """EspoCRM's items of one set, in array order; empty values left out."""
    data_key, value_key = ESPO_KEYS[set_name]
    items: list[Item] = []
    for raw in record.get(data_key) or []:
        value = raw.get(value_key) if isinstance(raw, Mapping) else None
        if not isinstance(value, str) or not value.strip():
            continue
        items.append(
            Item(
                set_name,
                len(items),
                value,
                (raw.get("type") or None) if set_name == "phone" else None,
                bool(raw.get("primary")),
                bool(raw.get("optOut")),
                bool(raw.get("invalid")),
            )
        )
    return items
