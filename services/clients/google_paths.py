"""Every Google Calendar API v3 path in one table (EXTERNAL_SYSTEMS 3.2), relative to
GOOGLE_API_BASE_URL (which already ends in `/calendar/v3`)."""

from __future__ import annotations

from services.clients.routes import Route

TOKEN = Route("token")  # sent to GOOGLE_TOKEN_URL
CALENDAR_LIST = Route("users/me/calendarList")
CALENDARS = Route("calendars")
CALENDAR = Route("calendars/{calendar_id}")
ACL = Route("calendars/{calendar_id}/acl")
EVENTS = Route("calendars/{calendar_id}/events")
EVENT = Route("calendars/{calendar_id}/events/{event_id}")
INSTANCES = Route("calendars/{calendar_id}/events/{event_id}/instances")
