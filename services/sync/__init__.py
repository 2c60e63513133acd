"""The sync core: what every entity's sync (parties, bank accounts, the calendar) is built on.

A sync of one record is: read both sides and the stored sync state → a pure decision returns
ordered **actions** (`actions.py`) → the one **runner** (`runner.py`) executes them through the
entity's executor, stops at the first failed write, and reports exactly what was `Applied` → the
new sync state is computed from `Applied` only, so it never advances for a write that failed.

Around that, written once for every entity: the **retry policy** and status bookkeeping
(`policy.py`), failure booking, blocks and cron candidate selection (`records.py`), the
**renewed lock** (`locking.py`), notify-once through an outbox (`notify.py`), the audit trail
(`audit.py`), content fingerprints (`fingerprint.py`). Nothing here imports the engine; the
decision side (actions, policy, fingerprints) imports no client and no database.

A new entity is a mapping, a rules module (decision → actions), an executor and the state
computation — see docs/engine.md "The sync core".
"""
