"""Runs the calendar's `Call`s against the Google and Advoware clients (the runner's `Executor`).

- `insert_event`: the client-chosen id makes the insert idempotent — a 409 (a lost answer, a
  process that died after the insert, a second run) adopts the stored event; a stored event
  that was deleted in the meantime is put back with the planned content.
- `restore_event`: PATCH back to `confirmed`; an event gone for good (404/410) is inserted under
  the next restore id `adv{frNr}r{n}` (ids of deleted events cannot be reused).
- `patch_event` with an etag: a 412 whose event already shows the patch is the PATCH having
  applied (its answer lost, the client's retry met its new etag); any other 412 is raised.
- `delete_event` / `delete_termin`: already gone counts as done.
- `create_termin` is not idempotent (the client raises OutcomeUnknown after a timeout or 5xx;
  the service saved the intent before, so the next run finds the Termin instead of POSTing).
The calendar has no EspoCRM records, so `patch` is never planned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from services.calendar.event_mapping import shows_patch
from services.calendar.ids import next_restore_id
from services.clients.errors import Gone, NotFound, PreconditionFailed
from services.sync.actions import Call

log = logging.getLogger("bitbylaw.calendar")
RESTORE_TRIES = 5  # restore ids taken by earlier deleted restores are skipped, this many at most


class CalendarExecutor:
    def __init__(self, google: Any, advoware: Any) -> None:
        self.google, self.advoware = google, advoware

    async def call(self, call: Call) -> Any:
        body = dict(call.body or {})
        if call.op == "insert_event":
            return await self._insert(str(call.target), body)
        if call.op == "patch_event":
            calendar_id, event_id, etag = call.target
            return await self._patch(calendar_id, event_id, body, etag)
        if call.op == "restore_event":
            calendar_id, event_id, frnr = call.target
            return await self._restore(calendar_id, event_id, int(frnr), body)
        if call.op == "delete_event":
            calendar_id, event_id = call.target
            await self.google.delete_event(calendar_id, event_id, missing_ok=True)
            return None
        if call.op == "create_termin":
            return await self.advoware.create_termin(body)
        if call.op == "update_termin":
            return await self.advoware.update_termin(int(call.target), body)
        if call.op == "delete_termin":
            try:
                await self.advoware.delete_termin(int(call.target))
            except NotFound:
                pass  # deleted meanwhile: done
            return None
        raise ValueError(f"unknown calendar operation {call.op!r}")

    async def patch(self, entity: str, record_id: str, fields: Mapping[str, Any]) -> Any:
        raise ValueError("the calendar writes no EspoCRM records")

    async def _insert(self, calendar_id: str, event: dict[str, Any]) -> Any:
        stored = await self.google.insert_event(calendar_id, event, adopt_existing=True)
        if stored.get("status") == "cancelled":  # our id, deleted since: bring it back as planned
            patch = {k: v for k, v in event.items() if k != "id"}
            return await self.google.patch_event(
                calendar_id, str(stored["id"]), {**patch, "status": "confirmed"}
            )
        return stored

    async def _patch(self, calendar_id: str, event_id: str, body: dict[str, Any], etag: str | None) -> Any:
        try:
            return await self.google.patch_event(calendar_id, event_id, body, etag)
        except PreconditionFailed:
            # The etag changed: a user's edit, or our own PATCH whose answer was lost before the
            # client's retry. Only an event that already shows the patch is the latter.
            current = await self.google.get_event(calendar_id, event_id)
            if not shows_patch(current, body):
                raise
            return current

    async def _restore(self, calendar_id: str, event_id: str, frnr: int, body: dict[str, Any]) -> Any:
        try:
            return await self.google.patch_event(calendar_id, event_id, body["patch"])
        except (NotFound, Gone):
            pass
        new_id = event_id
        for _ in range(RESTORE_TRIES):
            new_id = next_restore_id(new_id, frnr)
            stored = await self.google.insert_event(
                calendar_id, {**body["event"], "id": new_id}, adopt_existing=True
            )
            if stored.get("status") != "cancelled":
                log.info("event %s gone for good: restored as %s", event_id, new_id)
                return stored
        raise Gone("google", "POST", "calendars/{calendarId}/events", 409, reason="restore ids used up")
