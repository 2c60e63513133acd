"""Small request helpers shared by the handlers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from simulators.google.access import require
from simulators.google.errors import bad_request, not_found
from simulators.google.state import Calendar, GoogleState


def google_state(request: web.Request) -> GoogleState:
    state: GoogleState = request.app["google"]
    return state


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; Google answers 400 `parseError` for anything else."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request("Parse Error", "parseError") from exc
    if not isinstance(body, dict):
        raise bad_request("Parse Error", "parseError")
    return body


def principal(request: web.Request) -> str:
    """The account the request's token acts for (set by the auth middleware)."""
    return str(request.get("principal", ""))


def calendar_or_404(request: web.Request, need: str | None = None) -> Calendar:
    """The calendar of the path, if the caller may use it: `need` is the role required
    (default: reader to read, writer to write); unknown or invisible → 404, too weak → 403."""
    calendar = google_state(request).calendar(request.match_info["calendarId"])
    if calendar is None:
        raise not_found()
    require(calendar, principal(request), need or ("reader" if request.method == "GET" else "writer"))
    return calendar
