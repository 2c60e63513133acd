"""Second subscriber of demo.item (fan-out: each subscriber gets its own job)."""

from engine import queue
from tests.engine.example_steps._record import record

config = {
    "name": "example-audit",
    "flows": ["example"],
    "triggers": [queue("demo.item")],
    "enqueues": [],
}


async def handler(data, ctx):
    ctx.logger.info("audited")
    record(step="example-audit", n=data["n"], trace_id=ctx.trace_id)
