"""Deterministic seed data (`POST /_admin/seed`): one calendar per Kürzel with a mix of timed,
all-day, multi-day and recurring events, one weekly series crossing a DST change.

Body: `{"calendars": ["SB", "AI"], "events_per_calendar": 12, "seed": 1, "anchor": "2026-03-02",
"owner": "kalender@kanzlei.example"}` (`owner`: the account the calendars live in, default the
service account).
Ids, times and texts depend only on (seed, Kürzel, index, anchor); `anchor` defaults to today
in Europe/Berlin. Seeding again adds nothing that already exists (ids are fixed).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from simulators.google.calendars import create_calendar
from simulators.google.events import create_event
from simulators.google.ids import base32hex
from simulators.google.state import Calendar, GoogleState

BERLIN = "Europe/Berlin"
_SUMMARIES = ["Besprechung", "Gerichtstermin", "Mandantengespräch", "Akteneinsicht", "Telefonkonferenz",
              "Seminar", "Frist", "Urlaub", "Vergleichsverhandlung", "Beweisaufnahme"]  # fmt: skip
_LOCATIONS = ["Kanzlei", "Amtsgericht Berlin", "Landgericht Hamburg", "Online", ""]


def seed(state: GoogleState, body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("calendars", ["SB"])
    kuerzel = [k.strip() for k in raw.split(",")] if isinstance(raw, str) else [str(k) for k in raw]
    per_calendar = int(body.get("events_per_calendar", 12))
    owner = str(body.get("owner") or state.config.service_account_email).lower()
    seed_value = body.get("seed", 1)
    anchor = (
        date.fromisoformat(body["anchor"])
        if body.get("anchor")
        else state.now().astimezone(ZoneInfo(BERLIN)).date()
    )
    created, ids = 0, {}
    for short in kuerzel:
        calendar = state.calendar_by_summary(short, owner)
        calendar = calendar or create_calendar(state, short, BERLIN, owner=owner)
        ids[short] = calendar.id
        created += _seed_calendar(state, calendar, short, per_calendar, seed_value, anchor)
    return {"calendars": len(kuerzel), "events": created, "calendar_ids": ids, "anchor": anchor.isoformat()}


def _seed_calendar(
    state: GoogleState, calendar: Calendar, short: str, count: int, seed_value: Any, anchor: date
) -> int:
    rng = random.Random(f"{seed_value}:{short}")
    prefix = "seed" + base32hex(hashlib.sha256(f"{seed_value}:{short}".encode()).digest(), 6)
    dst_day = next_dst_change(anchor)
    created = 0
    for index in range(count):
        body = _KINDS[index % len(_KINDS)](rng, anchor, dst_day)
        body["id"] = f"{prefix}{index:04d}"
        body["summary"] = f"{rng.choice(_SUMMARIES)} {short}-{index}"
        body["description"] = f"Seed-Termin {index} für {short}"
        if location := rng.choice(_LOCATIONS):
            body["location"] = location
        if body["id"] not in calendar.events:
            create_event(state, calendar, body)
            created += 1
    return created


def next_dst_change(anchor: date) -> date:
    """The first day after `anchor` on which Europe/Berlin changes its UTC offset."""
    tz = ZoneInfo(BERLIN)
    day = anchor
    for _ in range(400):
        nxt = day + timedelta(days=1)
        if datetime.combine(day, time(12), tz).utcoffset() != datetime.combine(nxt, time(12), tz).utcoffset():
            return nxt
        day = nxt
    raise AssertionError("Europe/Berlin always changes within a year")


def _timed(day: date, hour: int, minute: int) -> dict[str, str]:
    return {"dateTime": datetime.combine(day, time(hour, minute)).isoformat(), "timeZone": BERLIN}


def _single(rng: random.Random, anchor: date, _: date) -> dict[str, Any]:
    day = anchor + timedelta(days=rng.randint(-20, 120))
    hour, minutes = rng.randint(8, 16), rng.choice([30, 60, 90, 120])
    start = datetime.combine(day, time(hour, 0))
    end = start + timedelta(minutes=minutes)
    return {"start": _timed(day, hour, 0), "end": _timed(end.date(), end.hour, end.minute)}


def _all_day(rng: random.Random, anchor: date, _: date) -> dict[str, Any]:
    day = anchor + timedelta(days=rng.randint(-20, 120))
    return {"start": {"date": day.isoformat()}, "end": {"date": (day + timedelta(days=1)).isoformat()}}


def _multi_day(rng: random.Random, anchor: date, _: date) -> dict[str, Any]:
    day = anchor + timedelta(days=rng.randint(-20, 120))
    span = rng.randint(2, 4)
    return {"start": {"date": day.isoformat()}, "end": {"date": (day + timedelta(days=span)).isoformat()}}


def _across_dst(rng: random.Random, _: date, dst_day: date) -> dict[str, Any]:
    """Weekly at 10:00 local, starting two weeks before the change and ending three after."""
    first = dst_day - timedelta(days=14 + rng.randint(0, 6))
    return {
        "start": _timed(first, 10, 0),
        "end": _timed(first, 11, 0),
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6"],
    }


def _timed_multi_day(rng: random.Random, anchor: date, _: date) -> dict[str, Any]:
    day = anchor + timedelta(days=rng.randint(-10, 90))
    return {"start": _timed(day, 14, 0), "end": _timed(day + timedelta(days=1), 12, 0)}


def _series_with_exdate(rng: random.Random, anchor: date, _: date) -> dict[str, Any]:
    first = anchor + timedelta(days=rng.randint(0, 30))
    skipped = first + timedelta(days=14)
    return {
        "start": _timed(first, 8, 30),
        "end": _timed(first, 9, 0),
        "recurrence": [
            "RRULE:FREQ=WEEKLY;INTERVAL=1;COUNT=5",
            f"EXDATE;TZID={BERLIN}:{skipped.strftime('%Y%m%d')}T083000",
        ],
    }


_KINDS: list[Callable[[random.Random, date, date], dict[str, Any]]] = [
    _single, _all_day, _multi_day, _across_dst, _timed_multi_day, _series_with_exdate,
]  # fmt: skip
