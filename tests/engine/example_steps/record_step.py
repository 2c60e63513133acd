"""First subscriber of demo.item."""

from pydantic import BaseModel

from engine import queue
from tests.engine.example_steps._record import record


class ItemInput(BaseModel):
    n: int


config = {
    "name": "example-record",
    "flows": ["example"],
    "triggers": [queue("demo.item", input=ItemInput)],
    "enqueues": [],
}


async def handler(data, ctx):
    ctx.logger.info("recorded", n=data.n)
    record(step="example-record", n=data.n, trace_id=ctx.trace_id, attempt=ctx.attempt)
