"""The in-memory state of one Advoware simulator and its JSON snapshot form.

Ids and rowIds come from counters, so a seeded state is reproducible. A single version counter
feeds every rowId, like SQL Server's database-wide `rowversion` that Advoware's base64 rowIds
resemble: party rowIds are ~40 opaque characters, sub-record rowIds 12 (`"AAAAAAAAB9E="`).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from simulators.advoware.config import AdvowareSimConfig
from simulators.advoware.records import JsonDict, Party, Termin
from simulators.advoware.tokens import TokenStore
from simulators.common.snapshot import read_json, write_json

BERLIN = ZoneInfo("Europe/Berlin")
SNAPSHOT_FORMAT = "bitbylaw-advoware-sim/1"


@dataclass
class Counters:
    version: int = 1000
    betNr: int = 100000
    komm_id: int = 149000
    address_id: int = 7000
    address_seq: int = 0
    bank_id: int = 3000
    frNr: int = 500000


class AdvowareState:
    def __init__(self, config: AdvowareSimConfig) -> None:
        self.config = config
        self.tokens = TokenStore(config.clock, config.token_lifetime_s, 2 * config.clock_skew_s)
        self.parties: dict[int, Party] = {}
        self.employees: dict[str, JsonDict] = {}
        self.termine: dict[int, Termin] = {}
        self.counters = Counters()

    # -- ids, rowIds, time ------------------------------------------------------------------

    def next_id(self, name: str) -> int:
        value = int(getattr(self.counters, name)) + 1
        setattr(self.counters, name, value)
        return value

    def short_row_id(self) -> str:
        return base64.b64encode(self.next_id("version").to_bytes(8, "big")).decode("ascii")

    def party_row_id(self, bet_nr: int) -> str:
        version = self.next_id("version")
        digest = hashlib.sha256(f"party:{bet_nr}:{version}".encode()).digest()[:20]
        return base64.b64encode(digest + version.to_bytes(8, "big")).decode("ascii")

    def now_berlin(self) -> str:
        """Naive Europe/Berlin local time, the way Advoware writes datetimes."""
        now = datetime.fromtimestamp(self.config.clock(), BERLIN)
        return now.replace(tzinfo=None, microsecond=0).isoformat()

    # -- lookups ----------------------------------------------------------------------------

    def new_party(self, values: JsonDict) -> Party:
        bet_nr = self.next_id("betNr")
        party = Party(bet_nr, self.party_row_id(bet_nr), self.now_berlin(), values)
        self.parties[bet_nr] = party
        return party

    def add_employee(self, kuerzel: str, name: str, vorname: str, aktiv: bool = True) -> JsonDict:
        """An employee record as 1.5.5 describes it (for seeds and tests; the API cannot)."""
        employee = {
            "kuerzel": kuerzel,
            "name": name,
            "vorname": vorname,
            "email": f"{kuerzel.lower()}@kanzlei.example",
            "aktiv": aktiv,
        }
        self.employees[kuerzel] = employee
        return employee

    # -- reset, dump, snapshot ----------------------------------------------------------------

    def clear_data(self) -> None:
        self.parties.clear()
        self.employees.clear()
        self.termine.clear()
        self.counters = Counters()

    def to_dict(self) -> JsonDict:
        return {
            "format": SNAPSHOT_FORMAT,
            "counters": vars(self.counters).copy(),
            "parties": [p.to_dict() for p in self.parties.values()],
            "employees": list(self.employees.values()),
            "termine": [
                {"frNr": t.frNr, "rowId": t.rowId, "values": t.values} for t in self.termine.values()
            ],
        }

    def dump(self) -> JsonDict:
        return {**self.to_dict(), "activeTokens": self.tokens.active_count()}

    def load_dict(self, data: JsonDict) -> None:
        if data.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not an Advoware simulator snapshot: {data.get('format')!r}")
        self.clear_data()
        self.counters = Counters(**data["counters"])
        for raw in data["parties"]:
            party = Party.from_dict(raw)
            self.parties[party.betNr] = party
        self.employees = {e["kuerzel"]: dict(e) for e in data["employees"]}
        for raw in data["termine"]:
            self.termine[raw["frNr"]] = Termin(raw["frNr"], raw["rowId"], dict(raw["values"]))

    def save_snapshot(self, path: Path) -> None:
        write_json(path, self.to_dict(), indent=1)

    def load_snapshot(self, path: Path) -> bool:
        data = read_json(path)
        if data is None:
            return False
        self.load_dict(data)
        return True
