"""Runs past its queue timeout: the run is cut off and, without retries, dead-lettered."""

import asyncio

from engine import QueueConfig, queue
from tests.engine.example_steps._record import record

config = {
    "name": "example-stuck",
    "flows": ["example"],
    "triggers": [queue("demo.stuck", config=QueueConfig(timeout=0.2, max_retries=0))],
    "enqueues": [],
}


async def handler(data, ctx):
    record(step="example-stuck", event="start", n=data["n"])
    await asyncio.sleep(2)
    record(step="example-stuck", event="done", n=data["n"])
