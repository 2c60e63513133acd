"""The employee's calendar: found, or created and shared, before any event is synced (I/O).

The calendar (summary = the Kürzel) lives in the account of `CalendarAccount.subject`. Without a
stored calendar id the principal's own calendars are searched by summary first, so a calendar
whose insert answer was lost, or whose id was lost with the database, is found instead of made
twice. A calendar the service finds is adopted (its unlinked events wait for
`calendar adopt --apply`); one it makes is adopted from the start. In owner mode it is shared
with the employee (ACL `user:<email>`, writer) — again when the address changes; inserting a
rule for the same scope replaces it, so a repeated share is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.calendar.employees import CalendarAccount
from services.calendar.mappings import CalendarEmployee
from services.clients.errors import OutcomeUnknown

log = logging.getLogger("bitbylaw.calendar")


async def find_calendar(google: Any, kuerzel: str) -> str | None:
    found = await google.find_calendars(kuerzel)
    return str(found[0]["id"]) if found else None


async def ensure_calendar(
    google: Any, db: Any, state: CalendarEmployee, account: CalendarAccount, time_zone: str, now: datetime
) -> CalendarEmployee:
    """The employee's state with its calendar id (created or found, and shared), saved."""
    kuerzel = state.kuerzel
    shared = state.shared_with
    if state.calendar_id is None:
        calendar_id = await find_calendar(google, kuerzel)
        adopted = None
        if calendar_id is None:
            calendar_id = await _create(google, kuerzel, time_zone)
            adopted = now
        else:
            log.info("calendar of %s found: adopting it", kuerzel)
            shared = await _shared_with(google, calendar_id, account.share_with)
        state = await db.save_calendar_employee(
            replace(state, calendar_id=calendar_id, adopted_at=adopted, shared_with=shared)
        )
    if account.share_with and shared != account.share_with:
        await google.insert_acl(state.calendar_id, account.share_with)
        state = await db.save_calendar_employee(replace(state, shared_with=account.share_with))
    return state


async def _shared_with(google: Any, calendar_id: str, email: str | None) -> str | None:
    """`email` when a found calendar is shared with it as writer (or more) already."""
    if email is None:
        return None
    rules = await google.list_acl(calendar_id)
    wanted = f"user:{email}"
    return (
        email if any(r.get("id") == wanted and r.get("role") in ("writer", "owner") for r in rules) else None
    )


async def _create(google: Any, kuerzel: str, time_zone: str) -> str:
    try:
        created = await google.insert_calendar(kuerzel, time_zone)
    except OutcomeUnknown:
        found = await find_calendar(google, kuerzel)  # the insert may have got through
        if found is None:
            raise
        return found
    log.info("calendar of %s created", kuerzel)
    return str(created["id"])
