"""`calendar_sync_employee`: one employee's calendar sync. A run that finds the employee's lock
held is re-queued with a growing delay (one waiting job per employee), never dropped; after a
successful run the employee moves to the back of the all-run's order."""

import time

from pydantic import BaseModel, Field

from engine import QueueConfig, queue
from services.calendar.employees import Employee
from services.sync_metrics import init_outcomes, record_outcome
from steps.advoware.calendar_all_step import LAST_SYNCED
from steps.deps import calendar_service

# A first fill of 500 appointments waits on Google's rate limit (shared by all employees).
EMPLOYEE_QUEUE = QueueConfig(concurrency=4, timeout=3600, max_retries=3, backoff_base=30, backoff_max=900)


class EmployeeJob(BaseModel):
    kuerzel: str = Field(min_length=1, max_length=10)
    email: str | None = None  # from the all-run (its employee listing); else looked up
    waits: int = Field(0, ge=0)  # consecutive times this job found the lock held


init_outcomes("Calendar")

config = {
    "name": "advoware-calendar-employee",
    "description": "Sync one employee's Advoware Termine with his Google calendar",
    "flows": ["calendar"],
    "triggers": [queue("calendar_sync_employee", input=EmployeeJob, config=EMPLOYEE_QUEUE)],
    "enqueues": ["calendar_sync_employee"],
}


async def handler(job, ctx):
    service = await calendar_service(ctx)
    employee = Employee(job.kuerzel, job.email, True) if job.email else None
    outcome = await service.sync_employee(
        job.kuerzel, trigger=ctx.trigger.topic, trace_id=ctx.trace_id, employee=employee, waits=job.waits
    )
    if outcome.status == "locked":
        again = {"kuerzel": job.kuerzel, "email": job.email, "waits": job.waits + 1}
        await ctx.enqueue(
            "calendar_sync_employee", again, delay=outcome.retry_in, dedup_key=f"calendar-wait:{job.kuerzel}"
        )
    elif outcome.ok:
        await ctx.backend.zadd(LAST_SYNCED, outcome.kuerzel, time.time())
    log = ctx.logger.warning if record_outcome("Calendar", outcome.status) else ctx.logger.info
    log("calendar sync", kuerzel=outcome.kuerzel, status=outcome.status, failed=outcome.failed,
        retry_in=outcome.retry_in)  # fmt: skip
