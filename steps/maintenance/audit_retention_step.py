"""Daily: delete audit entries older than AUDIT_RETENTION_DAYS (bounded retention of personal data)."""

from datetime import UTC, datetime, timedelta

from engine import cron
from steps.deps import database, settings_of

config = {
    "name": "maintenance-audit-retention",
    "description": "Purge audit trail entries past their retention period",
    "flows": ["maintenance"],
    "triggers": [cron("17 3 * * *")],
    "enqueues": [],
}


async def handler(tick, ctx):
    cutoff = datetime.now(UTC) - timedelta(days=settings_of(ctx).audit_retention_days)
    purged = await (await database(ctx)).purge_audit(cutoff)
    ctx.logger.info("audit retention", purged=purged, cutoff=cutoff.isoformat())
