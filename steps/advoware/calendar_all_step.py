"""`calendar_sync_all`: one `calendar_sync_employee` job per employee to sync — never-synced
first, then the one synced longest ago (the backend's sorted set `calendar:last_synced`, score =
the last successful run, written by the employee step only after a success)."""

from pydantic import BaseModel

from engine import Emit, QueueConfig, queue
from steps.deps import calendar_service

LAST_SYNCED = "calendar:last_synced"


class AllJob(BaseModel):
    pass


config = {
    "name": "advoware-calendar-all",
    "description": "Fan out the calendar sync to every active employee, oldest-synced first",
    "flows": ["calendar"],
    "triggers": [queue("calendar_sync_all", input=AllJob, config=QueueConfig(concurrency=1, timeout=120))],
    "enqueues": ["calendar_sync_employee"],
}


async def handler(job, ctx):
    service = await calendar_service(ctx)
    employees = {e.kuerzel: e for e in await service.employees()}
    synced = {k: score for k, score in await ctx.backend.zrange(LAST_SYNCED)}
    order = sorted(employees, key=lambda k: (k in synced, synced.get(k, 0.0), k))
    emits = [
        Emit("calendar_sync_employee", {"kuerzel": k, "email": employees[k].email}, dedup_key=f"calendar:{k}")
        for k in order
    ]
    created = await ctx.enqueue_many(emits)
    sent = await service.deliver_notifications()
    ctx.logger.info("calendar fan-out", employees=len(order), enqueued=sum(created), notices_sent=sent)
