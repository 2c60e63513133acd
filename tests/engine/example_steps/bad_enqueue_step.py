"""Enqueues a topic it did not declare: the job must fail."""

from engine import QueueConfig, queue

config = {
    "name": "example-bad-enqueue",
    "flows": ["example"],
    "triggers": [queue("demo.bad", config=QueueConfig(max_retries=0))],
    "enqueues": [],
}


async def handler(data, ctx):
    await ctx.enqueue("demo.item", {"n": 1})
