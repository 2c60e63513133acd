"""Every 15 minutes: enqueue a sync_check for every party that needs one (what webhooks missed),
then send the admin ONE summary of the initial-sync conflicts found since (DECISIONS 10)."""

from engine import Emit, cron
from steps.deps import beteiligte_service

config = {
    "name": "vmh-beteiligte-cron",
    "description": "Find pending, dirty, due, auto-reset and stale CBeteiligte; enqueue sync_check",
    "flows": ["vmh"],
    "triggers": [cron("*/15 * * * *")],
    "enqueues": ["vmh.beteiligte.sync_check"],
}


async def handler(tick, ctx):
    service = await beteiligte_service(ctx)
    ids = await service.cron_candidates()
    created = []
    for start in range(0, len(ids), 500):  # one durable round trip per 500 jobs
        batch = ids[start : start + 500]
        created += await ctx.enqueue_many(
            [Emit("vmh.beteiligte.sync_check", {"id": i}, dedup_key=f"sync_check:{i}") for i in batch]
        )
        ctx.logger.info("cron enqueue progress", done=start + len(batch), total=len(ids))
    ctx.logger.info("cron candidates enqueued", candidates=len(ids), enqueued=sum(created))
    summed = await service.send_initial_conflict_summary()
    ctx.logger.info("initial-sync conflicts summed up", parties=summed)
