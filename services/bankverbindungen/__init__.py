"""Bankverbindungen: EspoCRM `CBankverbindungen` ↔ the party's Advoware bank accounts (SYNC_RULES
§4), on the sync core (`services/sync/`). Advoware can only create accounts (PUT and DELETE are
403), so a change or a delete in EspoCRM becomes an instruction for a person.

Pure: `fields` (the field map, normalisation, the `EspoCRM-ID` marker, payloads), `validate`
(schwifty), `notices`, `rules` (the account sync's decisions), `from_advoware` (the accounts the
party sync brings over). I/O: `executor`, `service` (the account job), `party_io` (the party
sync's reads and state writes for accounts), `compose`. See docs/bankverbindungen.md.
"""
