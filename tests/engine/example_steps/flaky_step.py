"""Always fails: 3 retries with a short backoff, then a dead letter."""

from engine import QueueConfig, queue
from tests.engine.example_steps._record import record

config = {
    "name": "example-flaky",
    "flows": ["example"],
    "triggers": [queue("demo.flaky", config=QueueConfig(max_retries=3, backoff_base=0.1, backoff_max=1.0))],
    "enqueues": [],
}


async def handler(data, ctx):
    record(step="example-flaky", n=data["n"], attempt=ctx.attempt)
    if not data.get("heal"):
        raise RuntimeError("flaky handler failed on purpose")
