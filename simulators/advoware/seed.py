"""Deterministic seed data for `POST /_admin/seed`.

Body: `{"parties": N, "employees": M, "appointments_per_employee": K, "seed": 1,
"base_date": "YYYY-MM-DD"}` (base_date defaults to today in Berlin; appointments fall into the
window 30 days before to 365 days after it). Seeding replaces all data (tokens stay valid); the
same body gives the same data. Parties are persons and companies with Kommunikation entries
(sometimes an empty slot), addresses and bank accounts with valid IBANs; appointments rotate
through timed, all-day, multi-day, recurring and DST-crossing kinds.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from simulators.advoware.records import JsonDict
from simulators.advoware.seed_parties import seed_party
from simulators.advoware.seed_termine import TerminFactory, seed_employee
from simulators.advoware.state import BERLIN, AdvowareState


def _bad_body(message: str) -> web.HTTPBadRequest:
    # Raised through the shared admin handler, which lets aiohttp render it as the 400 answer.
    return web.HTTPBadRequest(text=json.dumps({"message": message}), content_type="application/json")


def _count(body: JsonDict, name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad_body(f"{name} must be a non-negative integer")
    return value


def _base_date(body: JsonDict, state: AdvowareState) -> date:
    if not body.get("base_date"):
        return datetime.fromtimestamp(state.config.clock(), BERLIN).date()
    try:
        return date.fromisoformat(str(body["base_date"]))
    except ValueError:
        raise _bad_body("base_date must be YYYY-MM-DD") from None


def seed_state(state: AdvowareState, body: JsonDict) -> JsonDict:
    n_parties = _count(body, "parties", 10)
    n_employees = _count(body, "employees", 3)
    per_employee = _count(body, "appointments_per_employee", 10)
    rng = random.Random(body.get("seed", 1))
    base = _base_date(body, state)
    state.clear_data()
    for _ in range(n_parties):
        seed_party(state, rng)
    factory = TerminFactory(state, rng, base)
    for index in range(n_employees):
        kuerzel = seed_employee(state, rng, index)
        for _ in range(per_employee):
            factory.add(kuerzel)
    return _summary(state, base)


def _summary(state: AdvowareState, base: date) -> dict[str, Any]:
    parties = state.parties.values()
    return {
        "parties": len(state.parties),
        "kommunikation": sum(len(p.kommunikation) for p in parties),
        "adressen": sum(len(p.adressen) for p in parties),
        "bankverbindungen": sum(len(p.bankverbindungen) for p in parties),
        "employees": len(state.employees),
        "termine": len(state.termine),
        "base_date": base.isoformat(),
        "window": [(base - timedelta(days=30)).isoformat(), (base + timedelta(days=365)).isoformat()],
    }
