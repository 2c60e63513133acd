"""Beteiligte (party) sync between EspoCRM `CBeteiligte` and Advoware `Beteiligte`, on the sync core.

Pure (no I/O; an import-linter contract keeps them free of clients and the database):
- `mapping`: both systems ↔ one canonical `Party`, payload builders.
- `diff`: who changed what since the snapshot, the merged target, conflicts.
- `identity`: is an Advoware party the one an EspoCRM record describes (adoption, recovery)?
- `rules`: the decisions (`decide_linked`, `decide_link`, `decide_create`, `decide_not_found`),
  each yielding the core's actions; `settle` (how a write's answer settles the plan),
  `roundtrip`, `snapshot` (the new snapshot from what was applied).

With I/O: `executor` (the clients behind the actions), `execute` (run a decision, settle its
bookkeeping), the `flows` (create, update, delete, unlink), `blocks`, `summary`, and `service`,
which routes one event. `compose` builds the service from settings (steps and CLI alike).
"""
