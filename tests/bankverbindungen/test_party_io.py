"""The party sync's account reads keep the Advoware party GET the last read before a PUT
(DECISIONS 32): the EspoCRM list of the party's accounts, when there is work for it, is followed
by a second GET; without work there is neither. (Call order is not in the simulators' counters,
so a recorder stands in for the two clients here.)"""

from __future__ import annotations

from typing import Any

from services.bankverbindungen.fields import advo_values
from services.bankverbindungen.party_io import read_for_party
from services.bankverbindungen.state import Row
from tests.bankverbindungen.conftest import IBAN

ACCOUNT = {"id": 7, "rowId": "r7", "iban": IBAN, "bic": None, "bank": "Commerzbank", "kontoinhaber": "M",
           "bemerkung": None}  # fmt: skip


class Recorder:
    def __init__(self, party: dict[str, Any]) -> None:
        self.party = party
        self.log: list[str] = []

    async def list_linked(self, entity: str, record_id: str, link: str) -> list[dict[str, Any]]:
        self.log.append(f"espocrm list {entity}/{record_id}/{link}")
        return []

    async def get_again(self) -> dict[str, Any]:
        self.log.append("advoware GET")
        return {**self.party, "rowId": "again"}


async def test_an_unknown_account_lists_espocrm_then_reads_the_party_again() -> None:
    rec = Recorder({"betNr": 5, "rowId": "first", "bankverbindungen": [ACCOUNT]})
    advo, inputs = await read_for_party(rec, "P", [], rec.party, rec.get_again)
    assert rec.log == ["espocrm list CBeteiligte/P/bankverbindungen", "advoware GET"]
    assert advo["rowId"] == "again" and inputs.espo == ()


async def test_nothing_to_do_reads_nothing_more() -> None:
    known = Row("A", "P", 5, 7, advo_values(ACCOUNT))  # synced, unchanged since
    for accounts, rows in (([], []), ([ACCOUNT], [known])):
        rec = Recorder({"betNr": 5, "rowId": "first", "bankverbindungen": accounts})
        advo, inputs = await read_for_party(rec, "P", rows, rec.party, rec.get_again)
        assert rec.log == [] and advo["rowId"] == "first" and inputs.rows == tuple(rows)
