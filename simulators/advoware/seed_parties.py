"""Generated parties for the seed: persons and companies with Kommunikation entries, addresses
and bank accounts. All randomness comes from the caller's `random.Random`."""

from __future__ import annotations

import random
from datetime import date, timedelta

from simulators.advoware.records import Address, BankAccount, JsonDict, KommEntry, Party
from simulators.advoware.seed_data import (
    BANKS,
    CITIES,
    COMPANY_TRADES,
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    LAST_NAMES,
    LEGAL_FORMS,
    STREETS,
    ascii_slug,
)
from simulators.advoware.state import AdvowareState
from simulators.common.iban import german_iban


def _person(rng: random.Random) -> JsonDict:
    female = rng.random() < 0.5
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 64))
    roll = rng.random()
    return {
        "name": rng.choice(LAST_NAMES),
        "vorname": rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M),
        "anrede": "Frau" if female else "Herr",
        "titel": "Dr." if roll < 0.1 else ("Prof. Dr." if roll < 0.13 else None),
        "rechtsform": "Privatperson",
        "geburtsdatum": f"{born.isoformat()}T00:00:00",
        "handelsRegisterNummer": None,
        "registergericht": None,
    }


def _company(rng: random.Random) -> JsonDict:
    form, register = rng.choice(LEGAL_FORMS)
    owner = rng.choice(LAST_NAMES)
    if rng.random() < 0.3:
        owner = f"{owner} & {rng.choice(LAST_NAMES)}"
    city = rng.choice(CITIES)[0]
    return {
        "name": f"{owner} {rng.choice(COMPANY_TRADES)} {form}",
        "vorname": None,
        "anrede": "Firma",
        "titel": None,
        "rechtsform": form,
        "geburtsdatum": None,
        "handelsRegisterNummer": f"{register} {rng.randrange(1000, 99999)}" if register else None,
        "registergericht": f"AG {city}" if register else None,
    }


def _display_name(values: JsonDict) -> str:
    return " ".join(v for v in (values.get("titel"), values.get("vorname"), values["name"]) if v)


def _phone(rng: random.Random, area: str, mobile: bool = False) -> str:
    if mobile:
        return f"+49 1{rng.choice('567')}{rng.randrange(10)} {rng.randrange(1000000, 9999999)}"
    return f"+49 {area} {rng.randrange(100000, 9999999)}"


def _komm_plan(rng: random.Random, values: JsonDict, area: str) -> list[tuple[int, str]]:
    """(kommKz, tlf) pairs; the first phone and first e-mail become `online` (primary)."""
    slug = ascii_slug(
        values["name"] if values["vorname"] is None else f"{values['vorname']} {values['name']}"
    )
    domain = rng.choice(("example.com", "example.org", "example.net"))
    if values["vorname"] is None:
        plan = [(1, _phone(rng, area)), (4, f"info@{slug.split('.')[0]}.{domain}")]
        if rng.random() < 0.5:
            plan.append((2, _phone(rng, area)))
        if rng.random() < 0.3:
            plan.append((5, f"www.{slug.split('.')[0]}.{domain}"))
        return plan
    plan = [(rng.choice((1, 6)), _phone(rng, area))]
    if rng.random() < 0.6:
        plan.append((3, _phone(rng, area, mobile=True)))
    if rng.random() < 0.8:
        plan.append((rng.choice((4, 8)), f"{slug}@{domain}"))
    return plan


def _kommunikation(state: AdvowareState, rng: random.Random, plan: list[tuple[int, str]]) -> list[KommEntry]:
    entries: list[KommEntry] = []
    seen_kinds: set[bool] = set()
    for kommkz, tlf in plan:
        is_mail = kommkz in (4, 8)
        online = is_mail not in seen_kinds
        seen_kinds.add(is_mail)
        note = rng.choice(("", "", "Zentrale", "privat", "nur vormittags"))
        entries.append(KommEntry(state.next_id("komm_id"), state.short_row_id(), tlf, note, kommkz, online))
    if rng.random() < 0.1:
        # An empty slot left by an earlier sync run: written through the API, so kommKz=0 on GET.
        slot = KommEntry(
            state.next_id("komm_id"), state.short_row_id(), "", "[ESPOCRM-SLOT:4]", 4, False, True
        )
        entries.append(slot)
    return entries


def _address(state: AdvowareState, rng: random.Random, holder: str, main: bool) -> Address:
    city, plz_prefix, _ = rng.choice(CITIES)
    street = f"{rng.choice(STREETS)} {rng.randrange(1, 180)}{rng.choice(('', '', '', 'a', 'b'))}"
    plz = f"{plz_prefix}{rng.randrange(100, 999)}"
    since = date(2000, 1, 1) + timedelta(days=rng.randrange(365 * 25))
    values: JsonDict = {
        "strasse": street,
        "plz": plz,
        "ort": city,
        "anschrift": f"{holder}\n{street}\n{plz} {city}",
        "land": "D",
        "postfach": None,
        "postfachPlz": None,
        "standardAnschrift": main,
        "gueltigVon": f"{since.isoformat()}T00:00:00",
        "gueltigBis": None,
        "bemerkung": None,
    }
    if rng.random() < 0.15:
        values["postfach"] = str(rng.randrange(1000, 99999))
        values["postfachPlz"] = f"{plz_prefix}{rng.randrange(100, 999)}"
    return Address(state.next_id("address_id"), state.short_row_id(), state.next_id("address_seq"), values)


def _bank_account(state: AdvowareState, rng: random.Random, holder: str) -> BankAccount:
    bank, bic_prefix = rng.choice(BANKS)
    blz = str(rng.randrange(10**7, 9 * 10**7))  # 8 digits; German bank codes never start with 0 or 9
    values = {
        "iban": german_iban(blz, str(rng.randrange(10**6, 10**10))),
        "bic": f"{bic_prefix}DE{rng.randrange(10, 99)}XXX",
        "bank": bank,
        "kontoinhaber": holder,
        "bemerkung": rng.choice((None, None, "Geschäftskonto", "Mietkautionskonto")),
    }
    return BankAccount(state.next_id("bank_id"), state.short_row_id(), values)


def seed_party(state: AdvowareState, rng: random.Random) -> Party:
    values = _company(rng) if rng.random() < 0.3 else _person(rng)
    party = state.new_party(values)
    # Derived from the rng, not the clock, so the same seed body gives the same state.
    party.geaendertAm = (
        f"{rng.randrange(2015, 2026)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T10:00:00"
    )
    holder = _display_name(values)
    area = rng.choice(CITIES)[2]
    party.kommunikation = _kommunikation(state, rng, _komm_plan(rng, values, area))
    party.adressen = [_address(state, rng, holder, main=True)]
    if rng.random() < 0.3:
        party.adressen.append(_address(state, rng, holder, main=False))
    n_accounts = rng.choice((0, 1, 1, 2)) if values["vorname"] is None else rng.choice((0, 1, 1))
    party.bankverbindungen = [_bank_account(state, rng, holder) for _ in range(n_accounts)]
    return party
