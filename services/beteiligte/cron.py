"""Which parties the 15-minute cron must sync (SYNC_RULES §1 "Triggers").

The ids are collected first, by keyset paging (`id > last id`, ordered by id, 200 per page, no
cap): offset paging over a set whose statuses change while we page would skip records. The
server-side filter is a superset; `bookkeeping.cron_wants` decides exactly. Only the
bookkeeping attributes are selected. Due `permanently_failed` records are reset to `failed`
(counter 0, `syncNextRetry` cleared) — one EspoCRM write each — before their id is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.beteiligte import bookkeeping
from services.beteiligte.context import ENTITY, SyncDeps, log
from services.beteiligte.mapping import format_espo_datetime
from services.clients.espocrm import MAX_PAGE_SIZE

SELECT = ("id", "syncStatus", "syncNextRetry", "syncAutoResetAt", "advowareLastSync", "syncRetryCount")


def candidate_filter(now: datetime, stale_after: timedelta) -> list[dict[str, Any]]:
    """A superset of what `cron_wants` selects, as an EspoCRM `where`."""
    soon = format_espo_datetime(now + timedelta(seconds=1))  # `before` is strict: include `now`
    stale = format_espo_datetime(now - stale_after + timedelta(seconds=1))
    options: list[dict[str, Any]] = [
        {"type": "isNull", "attribute": "syncStatus"},
        {"type": "in", "attribute": "syncStatus", "value": ["pending_sync", "dirty", "syncing", "conflict"]},
        _and(_status("failed"), _or(_null("syncNextRetry"), _before("syncNextRetry", soon))),
        _and(_status("permanently_failed"), _before("syncAutoResetAt", soon)),
        _and(_status("clean"), _or(_null("advowareLastSync"), _before("advowareLastSync", stale))),
    ]
    return [_or(*options)]


def _null(attribute: str) -> dict[str, Any]:
    return {"type": "isNull", "attribute": attribute}


def _before(attribute: str, moment: str) -> dict[str, Any]:
    return {"type": "before", "attribute": attribute, "value": moment}


def _or(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "or", "value": list(items)}


def _status(status: str) -> dict[str, Any]:
    return {"type": "equals", "attribute": "syncStatus", "value": status}


def _and(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "and", "value": list(items)}


async def collect(deps: SyncDeps, now: datetime) -> list[dict[str, Any]]:
    """Every record matching the filter, keyset-paged by id."""
    stale_after = timedelta(seconds=deps.settings.stale_after_s)
    base = candidate_filter(now, stale_after)
    records: list[dict[str, Any]] = []
    last: str | None = None
    while True:
        where = base + ([{"type": "greaterThan", "attribute": "id", "value": last}] if last else [])
        page = await deps.espo.list(ENTITY, where=where, select=SELECT, order_by="id", max_size=MAX_PAGE_SIZE)
        records += page["list"]
        if len(page["list"]) < MAX_PAGE_SIZE:
            return records
        last = str(page["list"][-1]["id"])


async def cron_candidates(deps: SyncDeps) -> list[str]:
    now = deps.clock()
    stale_after = timedelta(seconds=deps.settings.stale_after_s)
    records = await collect(deps, now)
    ids: list[str] = []
    resets = 0
    for record in records:
        wants = bookkeeping.cron_wants(record, now, stale_after=stale_after)
        if wants == "reset_then_sync":
            await reset(deps, record)
            resets += 1
        if wants is not None:
            ids.append(str(record["id"]))
    log.info("cron: %d candidate(s) of %d matching, %d reset", len(ids), len(records), resets)
    return sorted(ids)


async def reset(deps: SyncDeps, record: Mapping[str, Any]) -> None:
    """permanently_failed → failed, counter 0, syncNextRetry cleared (the auto reset after 24 h)."""
    await deps.espo.update(ENTITY, str(record["id"]), bookkeeping.reset_fields(record))
