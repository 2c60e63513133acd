"""`POST /_admin/seed`: deterministic generated parties with linked addresses and bank accounts.

Body: `{"parties": N, "seed": 1, "status": "pending_sync", "with_addresses": true,
"with_bank_accounts": true, "betnr_start": null}`. The same seed gives the same records. Seeded
records are inserted directly: no hooks, no webhooks. 10,000 parties take well under a second.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from simulators.common.iban import german_iban

from . import names
from .entities import BANK_SYNC_STATUSES, CADRESSEN, CBANKVERBINDUNGEN, CBETEILIGTE, PARTY_SYNC_STATUSES
from .errors import ApiError
from .records import Record, blank_record
from .state import EspoState, IdFactory
from .timefmt import format_datetime

_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", " ": ""})


class _Seeder:
    def __init__(self, state: EspoState, body: dict[str, Any]) -> None:
        self.state = state
        seed = int(body.get("seed", 1))
        self.rng = random.Random(seed)
        self.ids = IdFactory(seed * 1_000_003 + len(state.tables["CBeteiligte"]))
        self.status = str(body.get("status", "pending_sync"))
        if self.status not in PARTY_SYNC_STATUSES:
            raise ApiError(400, f"unknown status {self.status!r}")
        self.bank_status = self.status if self.status in BANK_SYNC_STATUSES else "pending_sync"
        self.betnr = body.get("betnr_start")
        self.users = state.config.user_ids or (state.config.admin_user_id,)
        self.start = state.config.clock()

    def new_id(self, entity: str) -> str:
        while (record_id := self.ids.next()) in self.state.tables[entity]:
            pass
        return record_id

    def stamp(self, record: Record, index: int, total: int) -> None:
        # Spread createdAt over the past so the default order (createdAt desc) means something.
        moment = format_datetime(self.start - timedelta(seconds=total - index))
        record.update(createdAt=moment, modifiedAt=moment, createdById="system", modifiedById="system")


def seed_parties(state: EspoState, body: dict[str, Any]) -> dict[str, Any]:
    count = int(body.get("parties", 10))
    seeder = _Seeder(state, body)
    party_ids: list[str] = []
    addresses = bank_accounts = 0
    for index in range(count):
        party = _party(seeder, index, count)
        state.insert_raw("CBeteiligte", party)
        party_ids.append(party["id"])
        if body.get("with_addresses", True):
            for n in range(1 + (seeder.rng.random() < 0.3)):
                state.insert_raw("CAdressen", _address(seeder, party, n, index, count))
                addresses += 1
        if body.get("with_bank_accounts", True):
            for n in range(seeder.rng.choice((0, 1, 1, 2))):
                state.insert_raw("CBankverbindungen", _bank_account(seeder, party, n, index, count))
                bank_accounts += 1
    return {"parties": count, "addresses": addresses, "bank_accounts": bank_accounts, "party_ids": party_ids}


def _party(s: _Seeder, index: int, total: int) -> Record:
    rng = s.rng
    record = blank_record(CBETEILIGTE)
    record["id"] = s.new_id("CBeteiligte")
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    if rng.random() < 0.3:
        company = f"{rng.choice(names.COMPANY_WORDS)} {last} {rng.choice(names.RECHTSFORMEN)}"
        record.update(
            firmenname=company,
            name=company,
            rechtsform=company.split(" ", 2)[2],
            handelsregisterNummer=f"HRB {rng.randint(1000, 999999)}",
            registergericht=rng.choice(names.REGISTERGERICHTE),
        )
        local = company.split(" ")[0].translate(_ASCII).lower()
    else:
        birth = s.start.date() - timedelta(days=rng.randint(18 * 365, 90 * 365))
        record.update(
            firstName=first,
            lastName=last,
            name=f"{first} {last}",
            anrede=rng.choice(("Herr", "Frau")),
            titel=rng.choice(names.TITLES) or None,
            dateOfBirth=birth.isoformat(),
        )
        local = f"{first}.{last}".translate(_ASCII).lower()
    _contacts(s, record, f"{local}{index}")
    record.update(syncStatus=s.status, assignedUserId=s.users[index % len(s.users)])
    if s.betnr is not None:
        record["betnr"] = int(s.betnr) + index
    if s.status == "clean":
        record["advowareLastSync"] = format_datetime(s.start)
    s.stamp(record, index, total)
    return record


def _contacts(s: _Seeder, record: Record, local: str) -> None:
    rng = s.rng
    emails = [f"{local}@{rng.choice(names.EMAIL_DOMAINS)}"]
    if rng.random() < 0.25:
        emails.append(f"{local}.buero@{rng.choice(names.EMAIL_DOMAINS)}")
    record["emailAddressData"] = [
        {"emailAddress": e, "lower": e.lower(), "primary": i == 0, "optOut": False, "invalid": False}
        for i, e in enumerate(emails)
    ]
    # 2–4 entries in all: one or two e-mails, one to three phones
    types = rng.sample(("Mobile", "Office", "Home", "Fax", "Other"), rng.randint(1, 4 - len(emails)))
    record["phoneNumberData"] = [
        {
            "phoneNumber": f"+49 {rng.randint(30, 999)} {rng.randint(100000, 9999999)}",
            "type": kind,
            "primary": i == 0,
            "optOut": False,
            "invalid": False,
        }
        for i, kind in enumerate(types)
    ]
    record["emailAddress"] = emails[0]
    record["phoneNumber"] = record["phoneNumberData"][0]["phoneNumber"]


def _address(s: _Seeder, party: Record, n: int, index: int, total: int) -> Record:
    rng = s.rng
    record = blank_record(CADRESSEN)
    plz, ort = rng.choice(names.TOWNS)
    strasse = f"{rng.choice(names.STREETS)} {rng.randint(1, 180)}"
    record.update(
        id=s.new_id("CAdressen"),
        name=f"{strasse}, {plz} {ort}",
        strasse=strasse,
        plz=plz,
        ort=ort,
        land="DE",
        istStandard=n == 0,
        beteiligteId=party["id"],
        assignedUserId=party["assignedUserId"],
        syncStatus="clean" if s.status == "clean" else "pending_sync",
    )
    s.stamp(record, index, total)
    return record


def _bank_account(s: _Seeder, party: Record, n: int, index: int, total: int) -> Record:
    rng = s.rng
    record = blank_record(CBANKVERBINDUNGEN)
    bank, bic = rng.choice(names.BANKS)
    iban = german_iban(f"{rng.randint(10000000, 89999999)}", f"{rng.randint(1, 9_999_999_999)}")
    record.update(
        id=s.new_id("CBankverbindungen"),
        name=f"{bank} {iban}",
        iban=iban,
        bic=bic,
        bankname=bank,
        kontoinhaber=party["name"],
        istAktiv=True,
        istStandard=n == 0,
        beteiligteId=party["id"],
        assignedUserId=party["assignedUserId"],
        syncStatus=s.bank_status,
    )
    s.stamp(record, index, total)
    return record
