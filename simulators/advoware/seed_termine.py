"""Generated employees and appointments for the seed.

Appointments rotate through the kinds a calendar sync must get right: timed, all-day, multi-day
all-day, multi-day timed, weekly and monthly series, and three around the DST changes (last
Sunday of March / October): a timed appointment across the missing hour, one across the doubled
hour, and a weekly series that runs across the spring change (same local time, new UTC offset).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from simulators.advoware.records import JsonDict, Termin
from simulators.advoware.seed_data import (
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    LAST_NAMES,
    TERMIN_PLACES,
    TERMIN_TEXTS,
)
from simulators.advoware.state import AdvowareState

PAST_DAYS, FUTURE_DAYS = 30, 365


def seed_employee(state: AdvowareState, rng: random.Random, index: int) -> str:
    vorname = rng.choice(FIRST_NAMES_F + FIRST_NAMES_M)
    name = rng.choice(LAST_NAMES)
    kuerzel = _unique_kuerzel(state, vorname, name)
    # Every fifth employee has left the firm: the sync must skip inactive employees.
    state.add_employee(kuerzel, name, vorname, aktiv=index % 5 != 4)
    return kuerzel


def _unique_kuerzel(state: AdvowareState, vorname: str, name: str) -> str:
    letters = (vorname[0] + name[0]).upper()
    candidates = [letters, (vorname[0] + name[1]).upper(), (vorname[:2] + name[0]).upper()]
    candidates += [f"{letters}{n}" for n in range(2, 100)]
    return next(c for c in candidates if c not in state.employees)


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _dt(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def _hm(hour: int, minute: int = 0) -> str:
    return time(hour, minute).isoformat()


class TerminFactory:
    """Creates appointments of the next kind in the rotation, inside the seed window."""

    def __init__(self, state: AdvowareState, rng: random.Random, base: date) -> None:
        self.state, self.rng = state, rng
        self.first = base - timedelta(days=PAST_DAYS)
        self.last = base + timedelta(days=FUTURE_DAYS)
        self.spring = self._in_window(3)
        self.autumn = self._in_window(10)
        self.kinds: list[Callable[[], JsonDict]] = [
            self._timed,
            self._all_day,
            self._multi_day_all_day,
            self._multi_day_timed,
            self._weekly,
            self._monthly,
            self._dst_spring_gap,
            self._dst_autumn_overlap,
            self._dst_weekly_series,
        ]
        self.counter = 0

    def _in_window(self, month: int) -> date:
        # The window spans 395 days, so each DST change occurs in it at least once.
        for year in (self.first.year, self.first.year + 1):
            day = last_sunday(year, month)
            if self.first <= day <= self.last:
                return day
        raise AssertionError("window shorter than a year")

    def add(self, kuerzel: str) -> Termin:
        values = self.kinds[self.counter % len(self.kinds)]()
        self.counter += 1
        values = {**self._defaults(), **values, "kuerzel": kuerzel}
        termin = Termin(self.state.next_id("frNr"), self.state.short_row_id(), values)
        self.state.termine[termin.frNr] = termin
        return termin

    def _defaults(self) -> JsonDict:
        return {
            "datum": None,
            "uhrzeitVon": None,
            "datumBis": None,
            "uhrzeitBis": None,
            "text": self.rng.choice(TERMIN_TEXTS),
            "notiz": self.rng.choice((None, None, "Unterlagen mitbringen", "Akte 123/26 beachten")),
            "ort": self.rng.choice(TERMIN_PLACES),
            "dauertermin": 0,
            "turnus": 0,
            "turnusArt": None,
            "turnusBis": None,
        }

    def _day(self) -> date:
        return self.first + timedelta(days=self.rng.randrange((self.last - self.first).days - 7))

    def _timed(self) -> JsonDict:
        day, hour = self._day(), self.rng.randrange(8, 18)
        start = datetime.combine(day, time(hour, self.rng.choice((0, 15, 30, 45))))
        end = start + timedelta(minutes=self.rng.choice((30, 60, 90, 120)))
        return {
            "datum": _dt(day),
            "uhrzeitVon": start.time().isoformat(),
            "datumBis": _dt(end.date()),
            "uhrzeitBis": end.time().isoformat(),
        }

    def _all_day(self) -> JsonDict:
        day = self._day()
        return {"datum": _dt(day), "datumBis": _dt(day), "dauertermin": 1}

    def _multi_day_all_day(self) -> JsonDict:
        day = self._day()
        end = day + timedelta(days=self.rng.randrange(2, 6))
        return {"datum": _dt(day), "datumBis": _dt(end), "dauertermin": 1, "text": "Urlaub"}

    def _multi_day_timed(self) -> JsonDict:
        day = self._day()
        end = day + timedelta(days=self.rng.randrange(1, 4))
        return {"datum": _dt(day), "uhrzeitVon": _hm(14), "datumBis": _dt(end), "uhrzeitBis": _hm(12)}

    def _weekly(self) -> JsonDict:
        day = self._day()
        until = None if self.rng.random() < 0.3 else _dt(day + timedelta(weeks=self.rng.randrange(8, 21)))
        return {
            "datum": _dt(day),
            "uhrzeitVon": _hm(9),
            "datumBis": _dt(day),
            "uhrzeitBis": _hm(10),
            "turnus": 1,
            "turnusArt": 2,
            "turnusBis": until,
        }

    def _monthly(self) -> JsonDict:
        day = self._day()
        until = day + timedelta(days=30 * self.rng.randrange(6, 13))
        return {
            "datum": _dt(day),
            "uhrzeitVon": _hm(16),
            "datumBis": _dt(day),
            "uhrzeitBis": _hm(17),
            "turnus": 1,
            "turnusArt": 3,
            "turnusBis": _dt(until),
            "text": "Monatliche Fristenkontrolle",
        }

    def _dst_spring_gap(self) -> JsonDict:
        # 01:30-03:30 local on the spring change: 02:00-03:00 does not exist, so it lasts 1 h.
        day = self.spring
        return {"datum": _dt(day), "uhrzeitVon": _hm(1, 30), "datumBis": _dt(day), "uhrzeitBis": _hm(3, 30)}

    def _dst_autumn_overlap(self) -> JsonDict:
        # Saturday 22:00 to Sunday 04:00 across the autumn change: 02:00-03:00 happens twice.
        day = self.autumn
        return {
            "datum": _dt(day - timedelta(days=1)),
            "uhrzeitVon": _hm(22),
            "datumBis": _dt(day),
            "uhrzeitBis": _hm(4),
            "text": "Nachtschicht Fristenbriefkasten",
        }

    def _dst_weekly_series(self) -> JsonDict:
        start = max(self.first, self.spring - timedelta(weeks=2))
        return {
            "datum": _dt(start),
            "uhrzeitVon": _hm(9),
            "datumBis": _dt(start),
            "uhrzeitBis": _hm(9, 30),
            "turnus": 1,
            "turnusArt": 2,
            "turnusBis": _dt(self.spring + timedelta(weeks=4)),
            "text": "Wöchentliche Teambesprechung",
        }
