"""The daily retention step deletes audit entries older than AUDIT_RETENTION_DAYS, keeps newer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import Settings
from engine.backends.embedded import EmbeddedBackend
from engine.context import ContextFactory
from engine.registry import load_steps
from engine.triggers import CronTrigger
from services.db import AuditEntry, open_database

ROOT = Path(__file__).resolve().parents[2]


async def test_old_audit_entries_are_purged(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    (step,) = [s for s in load_steps([ROOT / "steps"]) if s.name == "maintenance-audit-retention"]
    settings = Settings(_env_file=None, DATABASE_URL=url, AUDIT_RETENTION_DAYS=30)  # type: ignore[call-arg]
    db = await open_database(url).connect()
    await db.migrate()
    now = datetime.now(UTC)
    try:
        for age_days in (40, 31, 5):
            db.clock = lambda age=age_days: now - timedelta(days=age)
            await db.add_audit(AuditEntry("CBeteiligte", "p1", action=f"age-{age_days}", result="ok"))
        backend = EmbeddedBackend(tmp_path / "engine.db")
        await backend.connect()
        ctx = ContextFactory(backend, [step], {"settings": settings, "db": db}).make(
            step, step.triggers_of(CronTrigger)[0], "t"
        )
        await step.handler({"tick": 0, "catch_up": False}, ctx)
        await backend.close()
        assert [a.action for a in await db.list_audit("CBeteiligte", "p1")] == ["age-5"]
    finally:
        await db.close()
