"""Which EspoCRM address is which Advoware address, and the per-address state row.

Matching: by the marker `EspoCRM-ID: <id>` in Advoware's note; an Advoware address without a
marker (created in the desktop) by its Advoware id in the state; an EspoCRM address and an
unmarked Advoware address neither of which the state knows (initial sync, a lost database, a
lost answer) by normalised (`strasse`, `plz`, `ort`). Two Advoware addresses with the same
marker: that address waits for a person (no write). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.beteiligte.adressen.fields import Values, advo_values, espo_values, marker_of, match_key


@dataclass(frozen=True)
class AddressRow:
    espo_id: str
    advo_id: int | None
    marked: bool  # Advoware's note carries our marker (we created it there)
    index: int | None  # `reihenfolgeIndex` last seen (unstable: looked up before every PUT)
    fields: Mapping[str, Any]
    tombstone: bool = False  # deleted in EspoCRM, still in Advoware: never re-created
    manual: tuple[str, ...] = ()  # fields waiting for a change by hand in Advoware

    def to_json(self) -> dict[str, Any]:
        return {
            "espoId": self.espo_id,
            "advoId": self.advo_id,
            "marked": self.marked,
            "index": self.index,
            "fields": dict(self.fields),
            "tombstone": self.tombstone,
            "manual": list(self.manual),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AddressRow:
        return cls(
            str(data["espoId"]),
            data.get("advoId"),
            bool(data.get("marked")),
            data.get("index"),
            dict(data.get("fields") or {}),
            bool(data.get("tombstone")),
            tuple(data.get("manual") or ()),
        )


@dataclass(frozen=True)
class Link:
    row: AddressRow | None
    espo: Mapping[str, Any] | None  # the CAdressen record
    advo: Mapping[str, Any] | None  # the Advoware address
    twins: tuple[int, ...] = ()  # Advoware ids of several addresses with this one's marker

    @property
    def espo_values(self) -> Values | None:
        return espo_values(self.espo) if self.espo is not None else None

    @property
    def advo_values(self) -> Values | None:
        return advo_values(self.advo) if self.advo is not None else None


def rows_of(snapshot: Mapping[str, Any] | None) -> list[AddressRow]:
    return [AddressRow.from_json(r) for r in ((snapshot or {}).get("addresses") or [])]


@dataclass
class _Index:
    advo: Sequence[Mapping[str, Any]]
    by_marker: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    by_id: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    used: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        for a in sorted(self.advo, key=lambda a: int(a["id"])):
            self.by_id[int(a["id"])] = a
            marker = marker_of(a)
            if marker:
                self.by_marker.setdefault(marker, []).append(a)

    def take(
        self, espo_id: str | None, advo_id: int | None
    ) -> tuple[Mapping[str, Any] | None, tuple[int, ...]]:
        marked = self.by_marker.get(espo_id or "", [])
        found = marked[0] if marked else (self.by_id.get(advo_id) if advo_id is not None else None)
        if found is not None and marked == [] and marker_of(found):
            found = None  # an id the state knows now carries another address's marker
        for a in marked or ([found] if found is not None else []):
            self.used.add(int(a["id"]))
        twins = tuple(int(a["id"]) for a in marked) if len(marked) > 1 else ()
        return found, twins


def match_addresses(
    rows: Sequence[AddressRow], espo: Sequence[Mapping[str, Any]], advo: Sequence[Mapping[str, Any]]
) -> list[Link]:
    index = _Index(advo)
    by_espo = {str(r["id"]): r for r in espo}
    links: list[Link] = []
    for row in rows:
        found, twins = index.take(row.espo_id, row.advo_id)
        links.append(Link(row, by_espo.get(row.espo_id), found, twins))
    known = {row.espo_id for row in rows}
    fresh_espo: list[Link] = []
    for record in espo:
        rid = str(record["id"])
        if rid in known:
            continue
        found, twins = index.take(rid, None)
        (links if found is not None else fresh_espo).append(Link(None, record, found, twins))
    unmarked: list[Mapping[str, Any]] = []
    for a in sorted(advo, key=lambda a: int(a["id"])):
        if int(a["id"]) in index.used:
            continue
        marker = marker_of(a)
        if marker and marker not in by_espo:
            index.used.add(int(a["id"]))
            links.append(Link(None, None, a))  # ours, its EspoCRM address deleted meanwhile
        elif not marker:
            unmarked.append(a)
    for link in fresh_espo:
        key = match_key(espo_values(link.espo or {}))
        twin = next((a for a in unmarked if match_key(advo_values(a)) == key), None)
        if twin is not None:
            unmarked.remove(twin)
        links.append(Link(None, link.espo, twin))
    links += [Link(None, None, a) for a in unmarked]
    return links
