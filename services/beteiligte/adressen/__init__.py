"""Adressen: EspoCRM `CAdressen` records ↔ the party's Advoware addresses, synced inside the party
sync (same lock, run, GET and snapshot). All modules are pure:

- `fields`: the field map, normalisation, the `EspoCRM-ID` marker, payloads;
- `match`: which address is which, the per-address state row;
- `rules`: one function per case (new, changed, read-only change, deletes on either side);
- `notices`: instructions and notices for a person;
- `state`: the new address rows from what the runner applied.
See docs/kommunikation.md.
"""
