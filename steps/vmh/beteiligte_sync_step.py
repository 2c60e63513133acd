"""The one central party sync: every CBeteiligte topic ends here and calls the sync service."""

from pydantic import BaseModel, Field

from engine import QueueConfig, queue
from services.sync_metrics import init_outcomes, record_outcome
from steps.deps import beteiligte_health, beteiligte_service

TOPICS = (
    "vmh.beteiligte.create",
    "vmh.beteiligte.update",
    "vmh.beteiligte.delete",
    "vmh.beteiligte.sync_check",
)
# Sync failures are booked on the EspoCRM record and retried by the cron on its schedule; the
# engine's own retries only cover a failure to book them (EspoCRM unreachable).
SYNC_QUEUE = QueueConfig(concurrency=4, timeout=300, max_retries=5, backoff_base=10, backoff_max=600)


class PartyJob(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    bulk: bool = False  # enqueued by the cron: initial-sync notices go to the admin summary
    waits: int = Field(0, ge=0)  # consecutive times this job found the party locked


init_outcomes("CBeteiligte")

config = {
    "name": "vmh-beteiligte-sync",
    "description": "Sync one CBeteiligte with Advoware (create, update/check, delete)",
    "flows": ["vmh"],
    "triggers": [queue(t, input=PartyJob, config=SYNC_QUEUE) for t in TOPICS],
    "enqueues": list(TOPICS),
    "health": beteiligte_health,
}


async def handler(job: PartyJob, ctx):
    topic = ctx.trigger.topic
    service = await beteiligte_service(ctx)
    outcome = await service.handle(
        job.id, topic.rsplit(".", 1)[-1], trigger=topic, trace_id=ctx.trace_id, bulk=job.bulk, waits=job.waits
    )
    if outcome.retry_in is not None:  # lock held or backoff: run again later, never drop the event
        # One waiting job per party and topic: a second one is absorbed (it reads the record fresh).
        again = {"id": job.id, "bulk": job.bulk, "waits": job.waits + (outcome.status == "locked")}
        await ctx.enqueue(topic, again, delay=outcome.retry_in, dedup_key=f"beteiligte-wait:{topic}:{job.id}")
    log = ctx.logger.warning if record_outcome("CBeteiligte", outcome.status) else ctx.logger.info
    log("party sync", entity_id=job.id, status=outcome.status, retry_in=outcome.retry_in)
