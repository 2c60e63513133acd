"""Every 15 minutes (BETEILIGTE_CRON): enqueue a sync_check for every party that needs one (what
webhooks missed), send queued notices, then ONE admin summary of the initial-sync conflicts and
links found since (DECISIONS 10)."""

from engine import Emit, cron
from steps.deps import beteiligte_service

config = {
    "name": "vmh-beteiligte-cron",
    "description": "Find pending, dirty, due, auto-reset, changed blocked, stale and deleted CBeteiligte",
    "flows": ["vmh"],
    "triggers": [cron("*/15 * * * *", override="BETEILIGTE_CRON")],
    "enqueues": ["vmh.beteiligte.sync_check"],
}


async def handler(tick, ctx):
    service = await beteiligte_service(ctx)
    ids = await service.cron_candidates()
    created = []
    for start in range(0, len(ids), 500):  # one durable round trip per 500 jobs
        batch = ids[start : start + 500]
        emits = [
            Emit("vmh.beteiligte.sync_check", {"id": i, "bulk": True}, dedup_key=f"sync_check:{i}")
            for i in batch
        ]
        created += await ctx.enqueue_many(emits)
        ctx.logger.info("cron enqueue progress", done=start + len(batch), total=len(ids))
    ctx.logger.info("cron candidates enqueued", candidates=len(ids), enqueued=sum(created))
    sent = await service.deliver_notifications()
    summed = await service.send_initial_conflict_summary()
    ctx.logger.info("notices", queued_sent=sent, summed_up_parties=summed)
