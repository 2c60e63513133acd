"""Sleeps `n` tenths of a second: used to kill or stop a process mid-handler."""

import asyncio

from engine import QueueConfig, queue
from tests.engine.example_steps._record import record

config = {
    "name": "example-slow",
    "flows": ["example"],
    # A long step timeout and no visibility timeout of its own: the lease is the deployment's
    # VISIBILITY_TIMEOUT_SECONDS, renewed by the heartbeat (never the step timeout + 5).
    "triggers": [queue("demo.slow", config=QueueConfig(concurrency=4, timeout=300))],
    "enqueues": [],
}


async def handler(data, ctx):
    record(step="example-slow", event="start", n=data["n"], attempt=ctx.attempt)
    await asyncio.sleep(data["n"] / 10)
    record(step="example-slow", event="done", n=data["n"], attempt=ctx.attempt)
