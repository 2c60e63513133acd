"""The simulator's records: a party (Beteiligter) with its Kommunikation entries, addresses and
bank accounts, employees and appointments.

Field names follow Advoware's spelling (`betNr`, `kommKz`, `reihenfolgeIndex`) because they are
rendered 1:1 as JSON. Each record keeps its API values in a `values` dict (the field sets are
configurable) plus the system fields the simulator owns (`id`, `rowId`, ...). `to_dict` and
`from_dict` give the snapshot form, which also holds internal flags the API never shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Open point 7: `kommArt` is a coarse kind derived from kommKz (1 phone, 2 fax, 3 e-mail, 4 other).
_KOMM_ART: dict[int, int] = {1: 1, 3: 1, 6: 1, 9: 1, 2: 2, 7: 2, 4: 3, 8: 3}


def komm_art(kommkz: int) -> int:
    return _KOMM_ART.get(kommkz, 4)


@dataclass
class KommEntry:
    id: int
    rowId: str
    tlf: str
    bemerkung: str
    kommKz: int
    online: bool
    # Created through `POST .../Kommunikationen`; drives the kommKz=0 read quirk (A10).
    api_created: bool = False

    def to_api(self, reported_kommkz: int) -> JsonDict:
        return {
            "id": self.id,
            "rowId": self.rowId,
            "tlf": self.tlf,
            "bemerkung": self.bemerkung,
            "kommKz": reported_kommkz,
            "kommArt": komm_art(self.kommKz),
            "online": self.online,
        }


@dataclass
class Address:
    id: int
    rowId: str
    # Creation order; with `standardAnschrift` it defines `reihenfolgeIndex` (A13).
    seq: int
    values: JsonDict

    @property
    def is_main(self) -> bool:
        return bool(self.values.get("standardAnschrift"))

    def to_api(self, index: int) -> JsonDict:
        return {"id": self.id, "rowId": self.rowId, "reihenfolgeIndex": index, **self.values}


@dataclass
class BankAccount:
    id: int
    rowId: str
    values: JsonDict

    def to_api(self) -> JsonDict:
        return {"id": self.id, "rowId": self.rowId, **self.values}


@dataclass
class Party:
    betNr: int
    rowId: str
    geaendertAm: str
    values: JsonDict
    kommunikation: list[KommEntry] = field(default_factory=list)
    adressen: list[Address] = field(default_factory=list)
    bankverbindungen: list[BankAccount] = field(default_factory=list)

    def ordered_addresses(self) -> list[Address]:
        """Main address first, then creation order; the position is the 1-based index."""
        return sorted(self.adressen, key=lambda a: (not a.is_main, a.seq))

    def to_dict(self) -> JsonDict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: JsonDict) -> Party:
        return cls(
            betNr=data["betNr"],
            rowId=data["rowId"],
            geaendertAm=data["geaendertAm"],
            values=dict(data["values"]),
            kommunikation=[KommEntry(**k) for k in data.get("kommunikation", [])],
            adressen=[Address(**a) for a in data.get("adressen", [])],
            bankverbindungen=[BankAccount(**b) for b in data.get("bankverbindungen", [])],
        )


@dataclass
class Termin:
    frNr: int
    rowId: str
    values: JsonDict

    def to_api(self) -> JsonDict:
        return {"frNr": self.frNr, "rowId": self.rowId, **self.values}
