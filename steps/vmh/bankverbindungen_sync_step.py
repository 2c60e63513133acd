"""The one bank account sync: every CBankverbindungen topic ends here and calls the account sync
service. A job that found the party's lock held, or the party not yet in Advoware, runs again
later (never dropped); for the latter the party's check is enqueued first."""

from pydantic import BaseModel, Field

from engine import QueueConfig, queue
from services.sync_metrics import init_outcomes, record_outcome
from steps.deps import bank_service

TOPICS = (
    "vmh.bankverbindungen.create",
    "vmh.bankverbindungen.update",
    "vmh.bankverbindungen.delete",
    "vmh.bankverbindungen.sync_check",
)
SYNC_QUEUE = QueueConfig(concurrency=4, timeout=300, max_retries=5, backoff_base=10, backoff_max=600)


class AccountJob(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    waits: int = Field(0, ge=0)  # consecutive times this job found the party locked
    party_waits: int = Field(0, ge=0)  # times it found the party without a betnr


init_outcomes("CBankverbindungen")

config = {
    "name": "vmh-bankverbindungen-sync",
    "description": "Sync one CBankverbindungen to Advoware (create; change, delete → manual action)",
    "flows": ["vmh"],
    "triggers": [queue(t, input=AccountJob, config=SYNC_QUEUE) for t in TOPICS],
    "enqueues": [*TOPICS, "vmh.beteiligte.sync_check"],
}


async def handler(job: AccountJob, ctx):
    topic = ctx.trigger.topic
    service = await bank_service(ctx)
    outcome = await service.handle(
        job.id, topic.rsplit(".", 1)[-1], trigger=topic, trace_id=ctx.trace_id, waits=job.waits,
        party_waits=job.party_waits,
    )  # fmt: skip
    if outcome.party_to_check:  # the party first; this account after the wait
        party = outcome.party_to_check
        await ctx.enqueue("vmh.beteiligte.sync_check", {"id": party}, dedup_key=f"sync_check:{party}")
    if outcome.retry_in is not None:
        again = {
            "id": job.id,
            "waits": job.waits + (outcome.status == "locked"),
            "party_waits": job.party_waits + (outcome.status == "waiting_for_party"),
        }
        await ctx.enqueue(topic, again, delay=outcome.retry_in, dedup_key=f"bank-wait:{topic}:{job.id}")
    log = ctx.logger.warning if record_outcome("CBankverbindungen", outcome.status) else ctx.logger.info
    log("bank account sync", entity_id=job.id, status=outcome.status, retry_in=outcome.retry_in)
