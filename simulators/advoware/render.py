"""How stored records look in API responses: the party with its embedded (read-only) lists,
and the kommKz=0 read quirk (A10, open point 6)."""

from __future__ import annotations

from simulators.advoware.config import AdvowareSimConfig
from simulators.advoware.records import JsonDict, KommEntry, Party
from simulators.advoware.state import AdvowareState


def reported_kommkz(config: AdvowareSimConfig, entry: KommEntry) -> int:
    if config.kommkz_zero_mode == "always":
        return 0
    if config.kommkz_zero_mode == "api_created" and entry.api_created:
        return 0
    return entry.kommKz


def kommunikation_json(config: AdvowareSimConfig, party: Party) -> list[JsonDict]:
    return [k.to_api(reported_kommkz(config, k)) for k in party.kommunikation]


def addresses_json(party: Party) -> list[JsonDict]:
    return [a.to_api(i) for i, a in enumerate(party.ordered_addresses(), start=1)]


def party_json(state: AdvowareState, party: Party) -> JsonDict:
    values = {name: party.values.get(name) for name in state.config.party_fields}
    return {
        "betNr": party.betNr,
        "rowId": party.rowId,
        **values,
        "geaendertAm": party.geaendertAm,
        "kommunikation": kommunikation_json(state.config, party),
        "adressen": addresses_json(party),
        "bankverbindungen": [b.to_api() for b in party.bankverbindungen],
    }
