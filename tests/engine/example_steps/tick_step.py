"""A cron every second (croniter's 6th field), recording each tick it ran."""

from engine import cron
from tests.engine.example_steps._record import record

config = {
    "name": "example-tick",
    "flows": ["example"],
    "triggers": [cron("* * * * * *")],
    "enqueues": [],
}


async def handler(data, ctx):
    record(step="example-tick", tick=data["tick"], catch_up=data["catch_up"], trace_id=ctx.trace_id)
