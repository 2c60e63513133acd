"""A faithful in-memory fake of the Google Calendar API v3, served by aiohttp under
`/calendar/v3` (see docs/simulators/google.md)."""

from simulators.google.app import API_BASE, build_google_app
from simulators.google.config import GoogleSimConfig
from simulators.google.state import GoogleState

__all__ = ["API_BASE", "GoogleSimConfig", "GoogleState", "build_google_app"]
