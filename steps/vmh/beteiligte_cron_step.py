"""Every 15 minutes (BETEILIGTE_CRON): enqueue a sync_check for every party and every bank account
that needs one (what webhooks missed), send queued notices, then ONE admin summary of the
initial-sync conflicts and links found since (DECISIONS 10)."""

from engine import Emit, cron
from steps.deps import bank_service, beteiligte_service

config = {
    "name": "vmh-beteiligte-cron",
    "description": "Find pending, dirty, due, auto-reset, changed blocked, stale and deleted CBeteiligte "
    "and CBankverbindungen",
    "flows": ["vmh"],
    "triggers": [cron("*/15 * * * *", override="BETEILIGTE_CRON")],
    "enqueues": ["vmh.beteiligte.sync_check", "vmh.bankverbindungen.sync_check"],
}


async def _enqueue(ctx, topic: str, ids: list[str], data: dict, key: str) -> None:
    created = []
    for start in range(0, len(ids), 500):  # one durable round trip per 500 jobs
        batch = ids[start : start + 500]
        created += await ctx.enqueue_many(
            [Emit(topic, {"id": i, **data}, dedup_key=f"{key}{i}") for i in batch]
        )
        ctx.logger.info("cron enqueue progress", topic=topic, done=start + len(batch), total=len(ids))
    ctx.logger.info("cron candidates enqueued", topic=topic, candidates=len(ids), enqueued=sum(created))


async def handler(tick, ctx):
    service = await beteiligte_service(ctx)
    ids = await service.cron_candidates()
    await _enqueue(ctx, "vmh.beteiligte.sync_check", ids, {"bulk": True}, "sync_check:")
    accounts = await bank_service(ctx)
    await _enqueue(
        ctx, "vmh.bankverbindungen.sync_check", await accounts.cron_candidates(), {}, "bank-sync_check:"
    )
    await accounts.deliver_notifications()
    sent = await service.deliver_notifications()
    summed = await service.send_initial_conflict_summary()
    ctx.logger.info("notices", queued_sent=sent, summed_up_parties=summed)
