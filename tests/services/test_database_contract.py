"""Contract suite of the service database, run against SQLite and PostgreSQL alike.

Every test that takes `database` or `database_url` runs once per engine (see conftest); the
PostgreSQL runs carry the `postgres` marker. A few engine-free tests (migration folders,
masking) sit at the top.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from subprocess import PIPE

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.db import (
    DIALECTS,
    MASK,
    AuditEntry,
    CalendarEmployee,
    CalendarMapping,
    CalendarMappingExists,
    Database,
    OutboxNotification,
    mask_decision,
    migrate_url,
    migration_names,
    open_database,
)
from services.db.migrations import split_sqlite_statements

pytestmark = pytest.mark.timeout(30)

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # night of a DST change in Berlin, on purpose

PARTY_SNAPSHOT = {
    "kind": "person",
    "fields": {"name": "Müller-Lüdenscheidt", "vorname": "Jörg", "titel": None, "anrede": "Herr"},
    "kommunikation": [
        {"id": 11, "kind": "email", "value": "jörg@straße.de", "primary": True, "rowId": "AAAx=="},
        {"id": 12, "kind": "phone", "value": "+49 30 123", "primary": False, "rowId": "AAAy=="},
    ],
    "addresses": [{"espoId": "a1", "reihenfolgeIndex": 1, "fields": {"ort": "Köln", "plz": "50667"}}],
    "rowId": "FBMAAA==",
    "assignedUserId": "u1",
    "nested": [[1, 2, [3, {"ß": ["ä", "ö", "ü"]}]], [], {}],
    "numbers": {"int": 2**53, "float": 1.5, "negative": -7, "bool": False},
}


class FixedClock:
    """A settable clock (DECISIONS 19: no sleeping to age records)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def assert_utc(value: datetime) -> None:
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value


# -- engine-free -------------------------------------------------------------------------------


def test_migration_folders_hold_the_same_names() -> None:
    names = {dialect: migration_names(dialect) for dialect in DIALECTS}
    assert names["postgres"], "no migrations found"
    assert names["postgres"] == names["sqlite"]
    assert names["postgres"][0] == "0001_init"


def test_sqlite_statement_splitter_keeps_trigger_bodies_whole() -> None:
    sql = """
    -- leading comment; with a semicolon
    CREATE TABLE t (a TEXT); -- trailing comment
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET a = 'x;y';
    END;
    -- trailing comment only
    """
    statements = split_sqlite_statements(sql)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_mask_decision_keeps_names_counts_and_metadata() -> None:
    decision = {
        "winner": "espocrm",
        "fields_changed": 2,
        "changes": {
            "name": {"before": "Müller", "after": "Mueller"},
            "titel": {"before": None, "after": "Dr."},
        },
        "kommunikation": {
            "changes": {"added": [{"value": "a@b.de", "primary": True}, {"value": "+49 1", "primary": False}]}
        },
        "conflicts": {"vorname": {"espocrm": "Jörg", "advoware": "Joerg", "kommKz": 3}},
    }
    masked = mask_decision(decision)
    assert masked["winner"] == "espocrm" and masked["fields_changed"] == 2
    assert masked["changes"] == {
        "name": {"before": MASK, "after": MASK},
        "titel": {"before": None, "after": MASK},
    }
    added = masked["kommunikation"]["changes"]["added"]
    assert added == [{"value": MASK, "primary": True}, {"value": MASK, "primary": False}]
    assert masked["conflicts"]["vorname"] == {"espocrm": MASK, "advoware": MASK, "kommKz": MASK}
    assert decision["changes"]["name"]["before"] == "Müller", "input must not be modified"


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://relative.db", "sqlite:///", ""])
def test_unsupported_url_is_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        open_database(url)


def test_password_is_not_echoed_in_url_errors() -> None:
    with pytest.raises(ValueError) as info:
        open_database("mysql://user:s3cret@host/db")
    assert "s3cret" not in str(info.value)


async def test_sqlite_uses_wal_and_creates_parent_dirs(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "service.db"
    async with open_database(f"sqlite:///{path}") as db:
        row = await db.driver.fetchrow("PRAGMA journal_mode")
        assert row is not None and next(iter(row.values())) == "wal"
    assert path.exists()


# -- lifecycle and migrations -------------------------------------------------------------------


async def test_migrate_is_idempotent(database: Database) -> None:
    assert await database.migrate() == []
    assert await database.applied_migrations() == migration_names(database.dialect)
    assert await database.pending_migrations() == []


async def test_concurrent_migrate_applies_each_migration_once(database_url: str) -> None:
    dbs = [open_database(database_url) for _ in range(3)]
    try:
        for db in dbs:
            await db.connect()
        results = await asyncio.gather(*(db.migrate() for db in dbs))
        applied = [name for result in results for name in result]
        assert sorted(applied) == migration_names(dbs[0].dialect)
        assert await dbs[0].applied_migrations() == migration_names(dbs[0].dialect)
    finally:
        for db in dbs:
            await db.close()


async def test_two_processes_migrating_at_once_apply_each_migration_once(database_url: str) -> None:
    script = (
        "import asyncio, json, sys\n"
        "from services.db import migrate_url\n"
        "print(json.dumps(asyncio.run(migrate_url(sys.argv[1]))))\n"
    )
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, cwd=REPO_ROOT, stdout=PIPE, stderr=PIPE
        )
        for _ in range(2)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=25)
    assert [p.returncode for p in procs] == [0, 0], [err.decode() for _, err in outputs]
    applied = [name for out, _ in outputs for name in json.loads(out)]
    dialect = "postgres" if database_url.startswith("postgres") else "sqlite"
    assert sorted(applied) == migration_names(dialect)


async def test_migrate_url_reports_applied_names(database_url: str) -> None:
    dialect = "postgres" if database_url.startswith("postgres") else "sqlite"
    assert await migrate_url(database_url) == migration_names(dialect)
    assert await migrate_url(database_url) == []


async def test_await_open_and_close_twice(database_url: str) -> None:
    db = await open_database(database_url)
    assert db.is_open
    assert await db.applied_migrations() == []
    await db.close()
    await db.close()
    assert not db.is_open


async def test_methods_fail_clearly_before_open(database_url: str) -> None:
    db = open_database(database_url)
    with pytest.raises(RuntimeError, match="not open"):
        await db.get_snapshot("x")


async def test_data_survives_reopen(database_url: str) -> None:
    async with open_database(database_url) as db:
        await db.migrate()
        await db.save_snapshot("e1", 104860, PARTY_SNAPSHOT)
        await db.record_intent("e2", "fp")
    async with open_database(database_url) as db:
        assert await db.get_snapshot("e1") == PARTY_SNAPSHOT
        intent = await db.get_intent("e2")
        assert intent is not None and intent.fingerprint == "fp"


# -- party sync snapshots ------------------------------------------------------------------------


async def test_snapshot_round_trip_and_overwrite(database: Database) -> None:
    assert await database.get_snapshot("e1") is None
    assert await database.get_sync_state("e1") is None

    await database.save_snapshot("e1", 104860, PARTY_SNAPSHOT)
    assert await database.get_snapshot("e1") == PARTY_SNAPSHOT

    changed = {**PARTY_SNAPSHOT, "rowId": "NEWROW=="}
    await database.save_snapshot("e1", 104861, changed)
    state = await database.get_sync_state("e1")
    assert state is not None
    assert state.snapshot == changed and state.betnr == 104861
    assert await database.count_snapshots() == 1


async def test_snapshot_types_are_identical_on_both_engines(database: Database) -> None:
    await database.save_snapshot("e1", 1, PARTY_SNAPSHOT)
    snapshot = await database.get_snapshot("e1")
    assert snapshot is not None
    numbers = snapshot["numbers"]
    assert type(numbers["int"]) is int and type(numbers["float"]) is float
    assert type(numbers["bool"]) is bool and snapshot["fields"]["titel"] is None
    assert isinstance(snapshot["nested"], list) and isinstance(snapshot["nested"][0][2][1], dict)


async def test_delete_snapshot(database: Database) -> None:
    await database.save_snapshot("e1", 1, {"a": 1})
    assert await database.delete_snapshot("e1") is True
    assert await database.get_snapshot("e1") is None
    assert await database.delete_snapshot("e1") is False


async def test_party_addresses_follow_the_snapshot(database: Database) -> None:
    """ "Which party holds address X" without scanning snapshots: written with the snapshot."""
    await database.save_snapshot("p1", 1, PARTY_SNAPSHOT, addresses=["a1", "a2"])
    await database.save_snapshot("p2", 2, PARTY_SNAPSHOT, addresses=["a3"])
    assert [await database.party_of_address(a) for a in ("a1", "a2", "a3", "a9")] == ["p1", "p1", "p2", None]
    await database.save_snapshot("p1", 1, PARTY_SNAPSHOT)  # None: the addresses stay as they were
    assert await database.party_of_address("a2") == "p1"
    await database.save_snapshot("p1", 1, PARTY_SNAPSHOT, addresses=["a2"])  # a1 left the party
    await database.save_snapshot("p2", 2, PARTY_SNAPSHOT, addresses=["a3", "a1"])  # and moved to p2
    assert [await database.party_of_address(a) for a in ("a1", "a2", "a3")] == ["p2", "p1", "p2"]
    assert await database.delete_snapshot("p2")
    assert [await database.party_of_address(a) for a in ("a1", "a2", "a3")] == [None, "p1", None]


async def test_bank_accounts_rows_flags_and_notices(database: Database) -> None:
    """SYNC_RULES §4: one row per EspoCRM account (party, betnr, Advoware id, synced fields,
    tombstone and manual flags), written with its notices in one transaction."""
    from services.db import BankAccountState, OutboxNotification

    fields = {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bank": "Bänk", "kontoinhaber": None}
    row = BankAccountState("b1", "p1", 104860, 2**40, fields)
    await database.save_bank_account(row)
    await database.save_bank_account(BankAccountState("b2", "p1", None, None, {}))
    await database.save_bank_account(BankAccountState("b3", "p2", 7, 8, {}))
    got = await database.get_bank_account("b1")
    assert got is not None and (got.party_id, got.betnr, got.konto_id, got.fields) == (
        "p1",
        104860,
        2**40,
        fields,
    )
    assert (got.tombstone, got.manual, got.wanted) == (False, False, None) and got.updated_at is not None
    assert [r.account_id for r in await database.bank_accounts_of_party("p1")] == ["b1", "b2"]
    assert await database.get_bank_account("nope") is None
    notice = OutboxNotification("bank_deleted:b1:8", "CBeteiligte", "p1", "manual_action", "u1", "löschen")
    wanted = {**fields, "iban": "DE02120300000000202051"}
    marked = BankAccountState("b1", "p1", 104860, 2**40, fields, wanted=wanted, tombstone=True, manual=True)
    await database.save_bank_account(marked, notices=[notice])
    got = await database.get_bank_account("b1")
    assert got is not None and (got.tombstone, got.manual, got.wanted) == (True, True, wanted)
    assert [n.dedupe_key for n in await database.pending_notifications("CBeteiligte", "p1")] == [
        "bank_deleted:b1:8"
    ]
    assert await database.delete_bank_account("b1") is True
    assert await database.delete_bank_account("b1") is False
    assert [r.account_id for r in await database.bank_accounts_of_party("p1")] == ["b2"]


async def test_mismatch_fields_kept_replaced_and_cleared(database: Database) -> None:
    await database.save_snapshot("e1", 1, {"v": 1}, mismatch_fields=["vorname", "name", "name"])
    state = await database.get_sync_state("e1")
    assert state is not None and state.mismatch_fields == ("name", "vorname")
    assert state.is_repeated_mismatch(["vorname", "name"])
    assert not state.is_repeated_mismatch(["name"])

    await database.save_snapshot("e1", 1, {"v": 2})  # None: keeps the stored mismatch
    state = await database.get_sync_state("e1")
    assert state is not None and state.mismatch_fields == ("name", "vorname")

    await database.save_snapshot("e1", 1, {"v": 3}, mismatch_fields=[])
    state = await database.get_sync_state("e1")
    assert state is not None and state.mismatch_fields == ()
    assert not state.is_repeated_mismatch([])


async def test_snapshot_updated_at_is_utc_from_the_clock(database: Database) -> None:
    berlin = timezone(timedelta(hours=2))
    database.clock = FixedClock(datetime(2026, 7, 1, 14, 0, tzinfo=berlin))
    await database.save_snapshot("e1", 1, {})
    state = await database.get_sync_state("e1")
    assert state is not None
    assert_utc(state.updated_at)
    assert state.updated_at == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


async def test_naive_clock_is_rejected(database: Database) -> None:
    database.clock = lambda: datetime(2026, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        await database.save_snapshot("e1", 1, {})


async def test_unserialisable_snapshot_raises_type_error(database: Database) -> None:
    with pytest.raises(TypeError):
        await database.save_snapshot("e1", 1, {"when": datetime.now(UTC)})
    assert await database.get_snapshot("e1") is None


async def test_iter_sync_states_pages_through_all(database: Database) -> None:
    ids = [f"e{i:02d}" for i in range(7)]
    for i, espo_id in enumerate(ids):
        await database.save_snapshot(espo_id, i, {"i": i})
    seen = [state.espo_id async for state in database.iter_sync_states(batch_size=3)]
    assert seen == ids


async def test_concurrent_saves_on_different_ids(database: Database) -> None:
    async def save(i: int) -> None:
        await database.save_snapshot(f"party-{i}", 1000 + i, {"i": i, "name": f"Bäcker {i}"})

    await asyncio.wait_for(asyncio.gather(*(save(i) for i in range(20))), timeout=20)
    assert await database.count_snapshots() == 20
    for i in range(20):
        state = await database.get_sync_state(f"party-{i}")
        assert state is not None and state.betnr == 1000 + i and state.snapshot["i"] == i


@pytest.mark.parametrize("payload", [{"name": "a\x00b"}, {"k\x00": 1}, {"l": [["\x00"]]}])
async def test_nul_characters_are_rejected_on_both_engines(
    database: Database, payload: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="NUL"):
        await database.save_snapshot("e1", 1, payload)


async def test_escaped_backslash_before_u0000_is_not_mistaken_for_nul(database: Database) -> None:
    payload = {"path": "C:\\u0000\\x", "raw": "\\u0000"}
    await database.save_snapshot("e1", 1, payload)
    assert await database.get_snapshot("e1") == payload


# NUL is rejected (above); surrogates are not valid UTF-8.
json_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20)
json_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | json_text
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4),
    max_leaves=20,
)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(payload=st.dictionaries(json_text, json_values, max_size=5))
async def test_any_json_object_round_trips(database: Database, payload: dict[str, object]) -> None:
    await database.save_snapshot("prop", 1, payload)
    assert await database.get_snapshot("prop") == payload


# -- create intents --------------------------------------------------------------------------------


async def test_intent_lifecycle_keeps_betnr(database: Database) -> None:
    clock = FixedClock()
    database.clock = clock
    assert await database.get_intent("e1") is None

    intent = await database.record_intent("e1", "fp-1")
    assert intent.betnr is None and intent.fingerprint == "fp-1"
    assert intent.created_at == T0 and intent.updated_at == T0

    clock.now = T0 + timedelta(seconds=5)
    await database.set_intent_betnr("e1", 104860)

    clock.now = T0 + timedelta(seconds=10)
    again = await database.record_intent("e1", "fp-2")  # a retry after a crash
    assert again.betnr == 104860, "an existing betnr must survive a re-recorded intent"
    assert again.fingerprint == "fp-2"
    assert again.created_at == T0 and again.updated_at == T0 + timedelta(seconds=10)
    assert await database.get_intent("e1") == again

    assert await database.clear_intent("e1") is True
    assert await database.get_intent("e1") is None
    assert await database.clear_intent("e1") is False


async def test_set_intent_betnr_without_intent_fails(database: Database) -> None:
    with pytest.raises(LookupError):
        await database.set_intent_betnr("missing", 1)


async def test_intent_timestamps_are_utc(database: Database) -> None:
    intent = await database.record_intent("e1", "fp")
    assert_utc(intent.created_at)
    assert_utc(intent.updated_at)


# -- the state a party run reads first -----------------------------------------------------------


async def test_run_state_of_an_unknown_party_is_empty(database: Database) -> None:
    state = await database.get_party_run_state("CBeteiligte", "nobody")
    assert (state.block, state.sync_state, state.intent, state.snapshot) == (None, None, None, None)
    assert state.waiting_notices == 0


def outbox(key: str, entity_id: str, entity_type: str = "CBeteiligte") -> OutboxNotification:
    return OutboxNotification(key, entity_type, entity_id, "conflict", "user-1", "Text", {"betnr": 1})


async def test_run_state_equals_the_single_reads(database: Database) -> None:
    database.clock = FixedClock()
    await database.set_block("CBeteiligte", "e1", reason="invalid", fingerprint="fp", modified_at="m1")
    await database.save_snapshot("e1", 104860, PARTY_SNAPSHOT, mismatch_fields=["name"])
    await database.record_intent("e1", "fp-1", {"name": "Müller", "geburtsdatum": "1980-05-01"})
    await database.set_intent_betnr("e1", 104860)
    await database.enqueue_notifications([outbox("k1", "e1"), outbox("k2", "e1"), outbox("k3", "e2")])
    await database.mark_notification_sent("k2")
    # Rows of other records and of another entity with the same id stay out.
    await database.set_block("CBankverbindungen", "e1", reason="other", fingerprint="x", modified_at=None)
    await database.enqueue_notifications([outbox("k4", "e1", "CBankverbindungen")])
    await database.save_snapshot("e2", 1, {"kind": "company"})
    await database.record_intent("e3", "fp-3")

    state = await database.get_party_run_state("CBeteiligte", "e1")

    assert state.block == await database.get_block("CBeteiligte", "e1")
    assert state.sync_state == await database.get_sync_state("e1")
    assert state.snapshot == PARTY_SNAPSHOT
    assert state.intent == await database.get_intent("e1")
    assert state.intent is not None and state.intent.betnr == 104860
    assert state.waiting_notices == 1  # k1; k2 was sent, k3 is another record's, k4 another entity's


async def test_run_state_with_only_some_parts(database: Database) -> None:
    await database.record_intent("e1", "fp")
    state = await database.get_party_run_state("CBeteiligte", "e1")
    assert state.block is None and state.sync_state is None
    assert state.intent == await database.get_intent("e1") and state.intent is not None


# -- audit trail -------------------------------------------------------------------------------------


def audit_entry(entity_id: str = "e1", **overrides: object) -> AuditEntry:
    values: dict[str, object] = {
        "entity_type": "CBeteiligte",
        "entity_id": entity_id,
        "action": "update",
        "result": "conflict",
        "trace_id": "trace-1",
        "trigger": "vmh.beteiligte.update",
        "decision": {
            "winner": "espocrm",
            "changes": {
                "name": {"before": "Müller", "after": "Möller"},
                "titel": {"before": None, "after": "Dr."},
            },
        },
        "api_calls": [
            {
                "system": "advoware",
                "method": "GET",
                "path": "api/v1/advonet/Beteiligte?name=Möller",
                "status": 200,
            },
            {"system": "espocrm", "method": "PUT", "path": "CBeteiligte/e1", "status": 200},
        ],
        "error": None,
    }
    values.update(overrides)
    return AuditEntry(**values)  # type: ignore[arg-type]


async def test_audit_masks_values_by_default(database: Database) -> None:
    await database.add_audit(audit_entry())
    [record] = await database.list_audit("CBeteiligte", "e1")
    assert record.decision == {
        "winner": "espocrm",
        "changes": {"name": {"before": MASK, "after": MASK}, "titel": {"before": None, "after": MASK}},
    }
    assert record.api_calls[0]["path"] == f"api/v1/advonet/Beteiligte?{MASK}"
    assert record.api_calls[1]["path"] == "CBeteiligte/e1"
    assert "Möller" not in repr(record)


async def test_audit_shows_values_when_configured(database: Database) -> None:
    database.show_values = True
    entry = audit_entry(error="round-trip mismatch: name")
    await database.add_audit(entry)
    [record] = await database.list_audit("CBeteiligte", "e1")
    assert record.decision == entry.decision
    assert record.api_calls == [dict(c) for c in entry.api_calls]
    assert (record.trace_id, record.trigger, record.action, record.result, record.error) == (
        "trace-1",
        "vmh.beteiligte.update",
        "update",
        "conflict",
        "round-trip mismatch: name",
    )
    assert_utc(record.created_at)


async def test_list_audit_newest_first_per_record_with_limit(database: Database) -> None:
    clock = FixedClock()
    database.clock = clock
    ids = []
    for i in range(4):
        clock.now = T0 + timedelta(minutes=i)
        ids.append(await database.add_audit(audit_entry(action=f"step-{i}")))
    # Same timestamp twice: the later insert must still come first.
    ids.append(await database.add_audit(audit_entry(action="step-4")))
    await database.add_audit(audit_entry(entity_id="other"))

    records = await database.list_audit("CBeteiligte", "e1", limit=3)
    assert [r.action for r in records] == ["step-4", "step-3", "step-2"]
    assert [r.id for r in records] == ids[::-1][:3]
    assert len(await database.list_audit("CBeteiligte", "e1")) == 5
    assert await database.list_audit("CBeteiligte", "nobody") == []
    with pytest.raises(ValueError):
        await database.list_audit("CBeteiligte", "e1", limit=0)


async def test_purge_audit_by_age(database: Database) -> None:
    clock = FixedClock()
    database.clock = clock
    for age_days in (10, 5, 0):
        clock.now = T0 - timedelta(days=age_days)
        await database.add_audit(audit_entry(action=f"age-{age_days}"))

    assert await database.purge_audit(T0 - timedelta(days=7)) == 1
    remaining = await database.list_audit("CBeteiligte", "e1")
    assert [r.action for r in remaining] == ["age-0", "age-5"]
    assert await database.purge_audit(T0 - timedelta(days=7)) == 0
    with pytest.raises(ValueError):
        await database.purge_audit(datetime(2026, 1, 1))


async def test_audit_outcomes_count_per_entity_result_and_utc_hour(database: Database) -> None:
    clock = FixedClock()
    database.clock = clock
    hour = T0.replace(minute=0, second=0, microsecond=0)
    entries = [
        (timedelta(hours=-3), "CBeteiligte", "synced"),  # before the cutoff: not counted
        (timedelta(hours=-1, minutes=5), "CBeteiligte", "synced"),
        (timedelta(hours=-1, minutes=59), "CBeteiligte", "synced"),
        (timedelta(hours=-1, minutes=30), "CBeteiligte", "failed"),
        (timedelta(minutes=1), "CBeteiligte", "synced"),
        (timedelta(minutes=2), "CKalender", "synced"),
    ]
    for offset, entity, result in entries:
        clock.now = hour + offset
        await database.add_audit(audit_entry(entity_type=entity, result=result))
    counts = await database.audit_outcomes(hour - timedelta(hours=2))
    got = sorted((c.entity_type, c.result, c.hour, c.count) for c in counts)
    assert got == [
        ("CBeteiligte", "failed", hour - timedelta(hours=1), 1),
        ("CBeteiligte", "synced", hour - timedelta(hours=1), 2),
        ("CBeteiligte", "synced", hour, 1),
        ("CKalender", "synced", hour, 1),
    ]
    for c in counts:
        assert_utc(c.hour)
    assert await database.audit_outcomes(hour + timedelta(hours=1)) == []
    with pytest.raises(ValueError):
        await database.audit_outcomes(datetime(2026, 1, 1))


async def test_long_error_text_is_bounded(database: Database) -> None:
    await database.add_audit(audit_entry(error="x" * 10_000))
    [record] = await database.list_audit("CBeteiligte", "e1")
    assert record.error is not None and len(record.error) == 4000


# -- notifications sent -------------------------------------------------------------------------------


async def test_notification_is_recorded_once(database: Database) -> None:
    kwargs = {"entity_type": "CBeteiligte", "entity_id": "e1", "kind": "conflict"}
    assert await database.record_notification("conflict:e1:name:row1", **kwargs) is True
    assert await database.record_notification("conflict:e1:name:row1", **kwargs) is False
    assert await database.record_notification("conflict:e1:name:row2", **kwargs) is True

    sent = await database.list_notifications("CBeteiligte", "e1")
    assert {n.dedupe_key for n in sent} == {"conflict:e1:name:row1", "conflict:e1:name:row2"}
    assert all(n.kind == "conflict" for n in sent)
    for n in sent:
        assert_utc(n.created_at)


async def test_concurrent_claims_of_one_key_yield_one_winner(database: Database) -> None:
    claims = await asyncio.gather(
        *(
            database.record_notification(
                "deleted:e1", entity_type="CBeteiligte", entity_id="e1", kind="deleted"
            )
            for _ in range(10)
        )
    )
    assert claims.count(True) == 1


async def test_forget_and_purge_notifications(database: Database) -> None:
    clock = FixedClock()
    database.clock = clock
    kwargs = {"entity_type": "CBeteiligte", "entity_id": "e1", "kind": "conflict"}
    await database.record_notification("k1", **kwargs)
    assert await database.forget_notification("k1") is True
    assert await database.record_notification("k1", **kwargs) is True  # the send failed: retry

    clock.now = T0 + timedelta(days=30)
    await database.record_notification("k2", **kwargs)
    assert await database.purge_notifications(T0 + timedelta(days=1)) == 1
    assert [n.dedupe_key for n in await database.list_notifications("CBeteiligte", "e1")] == ["k2"]


# -- transactions ---------------------------------------------------------------------------------------


async def test_transaction_commits_or_rolls_back(database: Database) -> None:
    sql = (
        "INSERT INTO notifications_sent (dedupe_key, entity_type, entity_id, kind, created_at) "
        "VALUES ($1, 't', 'e', 'k', $2)"
    )
    stamp = database.driver.dump_ts(T0)
    async with database.driver.transaction() as tx:
        await tx.execute(sql, "committed", stamp)

    with pytest.raises(RuntimeError, match="boom"):
        async with database.driver.transaction() as tx:
            await tx.execute(sql, "rolled-back", stamp)
            raise RuntimeError("boom")

    keys = {n.dedupe_key for n in await database.list_notifications("t", "e")}
    assert keys == {"committed"}
    # The connection is usable afterwards (no transaction left open).
    assert await database.record_notification("after", entity_type="t", entity_id="e", kind="k") is True


async def test_other_statements_stay_out_of_an_open_transaction(database: Database) -> None:
    """Statements of other coroutines while a transaction waits between its own statements are
    not part of it: its rollback keeps them, and they never see its uncommitted rows."""
    sql = (
        "INSERT INTO notifications_sent (dedupe_key, entity_type, entity_id, kind, created_at) "
        "VALUES ($1, 't', 'e', 'k', $2)"
    )
    stamp = database.driver.dump_ts(T0)
    inside, release = asyncio.Event(), asyncio.Event()

    async def failing_transaction() -> None:
        async with database.driver.transaction() as tx:
            await tx.execute(sql, "in-transaction", stamp)
            inside.set()
            await release.wait()
            raise RuntimeError("boom")

    tx_task = asyncio.create_task(failing_transaction())
    await inside.wait()
    outside = asyncio.create_task(database.driver.execute(sql, "outside", stamp))
    seen = asyncio.create_task(database.list_notifications("t", "e"))
    await asyncio.sleep(0.01)
    release.set()
    with pytest.raises(RuntimeError, match="boom"):
        await tx_task
    assert await outside == 1
    assert "in-transaction" not in {n.dedupe_key for n in await seen}
    assert {n.dedupe_key for n in await database.list_notifications("t", "e")} == {"outside"}


async def test_sqlite_statement_cancelled_before_it_started_never_runs(tmp_path: Path) -> None:
    from services.db.sqlite import SqliteDriver

    driver = SqliteDriver(str(tmp_path / "c.db"))
    await driver.open()
    try:
        await driver.execute("CREATE TABLE t (k TEXT)")
        busy = asyncio.create_task(driver.run(lambda conn: time.sleep(0.2)))  # the thread is busy
        await asyncio.sleep(0.01)
        queued = asyncio.create_task(driver.execute("INSERT INTO t VALUES ('cancelled')"))
        await asyncio.sleep(0.01)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        await busy
        assert await driver.fetch("SELECT k FROM t") == []
    finally:
        await driver.close()


# -- calendar: appointment mappings and per-employee state (migration `calendar`) ----------------

CAL = "c_abc@group.calendar.google.com"


def a_mapping(**overrides: object) -> CalendarMapping:
    values: dict[str, object] = {
        "kuerzel": "SB",
        "calendar_id": CAL,
        "source_system": "advoware",
        "advoware_frnr": 123456,
        "google_event_id": "adv123456",
    }
    values.update(overrides)
    return CalendarMapping(**values)  # type: ignore[arg-type]


def test_calendar_migration_exists_in_both_dialects() -> None:
    for dialect in DIALECTS:
        assert any(name.endswith("_calendar") for name in migration_names(dialect)), dialect


async def test_calendar_mapping_round_trip_keeps_every_field(database: Database) -> None:
    database.clock = FixedClock()
    full = a_mapping(
        status="synced",
        advoware_row_id="AAAx==",
        advoware_fingerprint="f" * 64,
        google_etag='"3412345678901234"',
        google_updated=datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC),
        google_fingerprint="g" * 64,
        # Local 10:00 Berlin on both sides of the spring change, given in other offsets.
        mapped_start=datetime(2026, 3, 29, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        mapped_end=None,
        failure_count=2,
        next_retry_at=T0 + timedelta(minutes=5),
        failure_reason="Advoware refused the write (HTTP 403)",
    )
    stored = await database.insert_calendar_mapping(full)
    assert stored.id is not None and stored.created_at == T0 and stored.updated_at == T0
    assert replace(stored, id=None, created_at=None, updated_at=None) == replace(
        full, mapped_start=datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    )
    assert_utc(stored.mapped_start)  # type: ignore[arg-type]
    assert await database.get_calendar_mapping(stored.id) == stored
    assert await database.mapping_by_frnr("SB", 123456) == stored
    assert await database.mapping_by_event(CAL, "adv123456") == stored
    assert await database.mapping_by_frnr("AI", 123456) is None


async def test_calendar_mapping_of_one_side_only(database: Database) -> None:
    google_born = await database.insert_calendar_mapping(
        a_mapping(source_system="google", advoware_frnr=None, google_event_id="k3j2h1g0f9")
    )
    advoware_born = await database.insert_calendar_mapping(a_mapping(advoware_frnr=7, google_event_id=None))
    # Two NULL frNrs and two NULL event ids never collide.
    await database.insert_calendar_mapping(
        a_mapping(source_system="google", advoware_frnr=None, google_event_id="x1")
    )
    await database.insert_calendar_mapping(a_mapping(advoware_frnr=8, google_event_id=None))
    done = await database.save_calendar_mapping(replace(google_born, advoware_frnr=999, status="synced"))
    assert done.advoware_frnr == 999 and done.status == "synced" and done.id == google_born.id
    assert (await database.mapping_by_frnr("SB", 999)) == done
    assert advoware_born.google_event_id is None
    assert await database.count_calendar_mappings("SB") == 4


async def test_calendar_mapping_uniqueness_on_both_engines(database: Database) -> None:
    first = await database.insert_calendar_mapping(a_mapping())
    with pytest.raises(CalendarMappingExists):
        await database.insert_calendar_mapping(a_mapping(google_event_id="adv999999"))  # same (SB, frNr)
    with pytest.raises(CalendarMappingExists):
        await database.insert_calendar_mapping(a_mapping(advoware_frnr=1))  # same (calendar, event)
    # The same appointment may be mapped under another employee while it moves (§5 deletes).
    moved = await database.insert_calendar_mapping(a_mapping(kuerzel="AI", calendar_id="c_ai@group"))
    other = await database.insert_calendar_mapping(a_mapping(advoware_frnr=2, google_event_id="adv2x"))
    with pytest.raises(CalendarMappingExists):
        await database.save_calendar_mapping(replace(other, google_event_id="adv123456"))
    with pytest.raises(CalendarMappingExists):
        await database.save_calendar_mapping(replace(other, advoware_frnr=123456))
    assert await database.get_calendar_mapping(other.id) == other  # type: ignore[arg-type]
    assert {m.id for m in await database.list_calendar_mappings("SB")} == {first.id, other.id}
    assert [m.id for m in await database.list_calendar_mappings("AI")] == [moved.id]


async def test_calendar_batch_save_is_all_or_nothing(database: Database) -> None:
    kept = await database.insert_calendar_mapping(a_mapping())
    batch = [
        replace(kept, status="synced"),
        a_mapping(advoware_frnr=10, google_event_id="adv10"),
        a_mapping(advoware_frnr=11, google_event_id="adv123456"),  # clashes with `kept`
    ]
    with pytest.raises(CalendarMappingExists):
        await database.save_calendar_mappings(batch)
    assert await database.list_calendar_mappings("SB") == [kept]
    saved = await database.save_calendar_mappings(batch[:2])
    assert [m.status for m in saved] == ["synced", "pending"] and saved[1].id is not None
    assert await database.count_calendar_mappings("SB") == 2


async def test_calendar_mapping_failures_count_up_and_filter(database: Database) -> None:
    database.clock = FixedClock()
    mapping = await database.insert_calendar_mapping(a_mapping())
    retry = T0 + timedelta(minutes=1)
    once = await database.record_calendar_failure(mapping.id, "COUNT cannot be expressed", retry)  # type: ignore[arg-type]
    twice = await database.record_calendar_failure(mapping.id, "x" * 5000, None)  # type: ignore[arg-type]
    assert (once.status, once.failure_count, once.next_retry_at) == ("failed", 1, retry)
    assert (
        twice.failure_count == 2 and twice.next_retry_at is None and len(twice.failure_reason or "") == 1000
    )
    assert [m.id for m in await database.list_calendar_mappings("SB", status="failed")] == [mapping.id]
    assert await database.list_calendar_mappings("SB", status="synced") == []
    with pytest.raises(LookupError):
        await database.record_calendar_failure(10**9, "gone", None)
    cleared = await database.save_calendar_mapping(
        replace(twice, status="synced", failure_count=0, failure_reason=None)
    )
    assert cleared.failure_count == 0 and cleared.status == "synced"


async def test_calendar_mapping_delete_and_missing_rows(database: Database) -> None:
    mapping = await database.insert_calendar_mapping(a_mapping())
    await database.insert_calendar_mapping(a_mapping(advoware_frnr=5, google_event_id="adv5x"))
    await database.insert_calendar_mapping(a_mapping(kuerzel="AI", calendar_id="c_ai"))
    assert await database.delete_calendar_mapping(mapping.id) is True  # type: ignore[arg-type]
    assert await database.delete_calendar_mapping(mapping.id) is False  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        await database.save_calendar_mapping(mapping)
    with pytest.raises(ValueError):
        await database.insert_calendar_mapping(mapping)  # has an id
    assert await database.delete_calendar_mappings("SB") == 1
    assert await database.count_calendar_mappings("AI") == 1


def test_calendar_mapping_refuses_invalid_values() -> None:
    with pytest.raises(ValueError):
        a_mapping(source_system="espocrm")
    with pytest.raises(ValueError):
        a_mapping(status="done")
    with pytest.raises(ValueError):
        a_mapping(advoware_frnr=None, google_event_id=None)


async def test_calendar_mapping_refuses_naive_times(database: Database) -> None:
    with pytest.raises(ValueError, match="mapped_start"):
        await database.insert_calendar_mapping(a_mapping(mapped_start=datetime(2026, 3, 29, 2, 30)))
    assert await database.count_calendar_mappings("SB") == 0


async def test_calendar_employee_state_lifecycle(database: Database) -> None:
    clock = FixedClock()
    database.clock = clock
    assert await database.get_calendar_employee("SB") is None
    with pytest.raises(LookupError):
        await database.record_calendar_success("SB", "C1", full=True)
    state = await database.save_calendar_employee(
        CalendarEmployee("SB", calendar_id=CAL, shared_with="sb@x.de")
    )
    assert state == CalendarEmployee("SB", CAL, "sb@x.de", updated_at=T0)
    first = await database.record_calendar_success("SB", "C1", full=True)
    assert (first.sync_token, first.last_full_sync, first.last_success) == ("C1", T0, T0)
    clock.now = T0 + timedelta(minutes=15)
    second = await database.record_calendar_success("SB", "C2", full=False)
    assert (second.sync_token, second.last_full_sync, second.last_success) == ("C2", T0, clock.now)
    assert await database.clear_calendar_sync_token("SB") is True
    assert await database.clear_calendar_sync_token("SB") is False
    assert (await database.get_calendar_employee("SB")).sync_token is None  # type: ignore[union-attr]
    # One notice per braking episode: only the call that opens (or closes) it gets True.
    assert await database.set_calendar_braking("SB", True) is True
    assert await database.set_calendar_braking("SB", True) is False
    assert (await database.get_calendar_employee("SB")).braking is True  # type: ignore[union-attr]
    assert await database.set_calendar_braking("SB", False) is True
    assert await database.set_calendar_braking("XX", True) is False
    replaced = await database.save_calendar_employee(replace(second, calendar_id="c_new", braking=True))
    assert replaced.calendar_id == "c_new" and replaced.braking is True and replaced.last_full_sync == T0


async def test_calendar_employees_never_synced_first_then_oldest(database: Database) -> None:
    for kuerzel, success in [("AA", T0), ("BB", None), ("CC", T0 - timedelta(hours=1)), ("DD", None)]:
        await database.save_calendar_employee(CalendarEmployee(kuerzel, last_success=success))
    assert [e.kuerzel for e in await database.list_calendar_employees()] == ["BB", "DD", "CC", "AA"]


async def test_calendar_state_survives_reopen(database_url: str) -> None:
    async with open_database(database_url) as db:
        await db.migrate()
        saved = await db.insert_calendar_mapping(
            a_mapping(mapped_start=T0, mapped_end=T0 + timedelta(hours=1))
        )
        await db.save_calendar_employee(
            CalendarEmployee("SB", calendar_id=CAL, sync_token="C9", braking=True)
        )
    async with open_database(database_url) as db:
        assert await db.mapping_by_event(CAL, "adv123456") == saved
        employee = await db.get_calendar_employee("SB")
        assert employee is not None and employee.sync_token == "C9" and employee.braking is True
