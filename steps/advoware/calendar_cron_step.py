"""Every 15 minutes (CALENDAR_CRON): the calendar sync of every employee."""

from engine import cron

config = {
    "name": "advoware-calendar-cron",
    "description": "Enqueue the calendar sync of all employees",
    "flows": ["calendar"],
    "triggers": [cron("*/15 * * * *", override="CALENDAR_CRON")],
    "enqueues": ["calendar_sync_all"],
}


async def handler(tick, ctx):
    await ctx.enqueue("calendar_sync_all", {}, dedup_key="calendar:all")
