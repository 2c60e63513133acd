"""Kommunikation (phone, fax, e-mail): EspoCRM's `emailAddressData`/`phoneNumberData` ↔ the
party's Advoware Kommunikation entries, synced inside the party sync (same lock, run, GET and
snapshot). All modules are pure:

- `kinds`: the kommKz table, sets and types, value normalisation;
- `marker`: the `[ESPOCRM:…]` / `[ESPOCRM-SLOT:…]` notes;
- `read`: both sides and the state rows as small values, kind detection;
- `match`: who changed which entry since the last sync;
- `variants`: one function per variant (Var1–Var6, conflicts, type change, one-way runs);
- `primary`: the primary entry of a set;
- `plan`: the core's actions (entry writes, the EspoCRM sets), state items, notices;
- `state`: the new state rows from what the runner applied.
See docs/kommunikation.md.
"""
