"""The calendar sync's pure parts (SYNC_RULES §5): no I/O, no clients.

- `model`: the normal form both sides are compared in (`Appointment`: texts, all-day days or
  timed instants, an optional series), its fingerprint and span.
- `times`: Europe/Berlin wall time ↔ instants (DST gaps and doubled hours resolve with fold=0).
- `termin_mapping`: Advoware Termin ↔ `Appointment` (defaults for missing times, all-day,
  multi-day, turnusArt series).
- `event_mapping` + `recurrence`: Google event ↔ `Appointment` (date events with exclusive
  ends, RRULE with UNTIL, detection of what Advoware cannot express).
- `ids`: client-chosen event ids `adv{frNr}` / restore ids `adv{frNr}r{n}` and the
  `extendedProperties.private` keys.
- `window`: the sync window in Berlin calendar days.
- `employees`: which Mitarbeiter get a calendar, in whose account, shared with whom.
"""
