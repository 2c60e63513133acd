"""Employees (`api/v1/advonet/Mitarbeiter`) and appointments (`api/v1/advonet/Termine`).

Appointments are naive Europe/Berlin local times (open point 19): `datum` + `uhrzeitVon` to
`datumBis` + `uhrzeitBis`; `dauertermin=1` marks all-day appointments, `turnus=1` a series with
`turnusArt` 1 daily / 2 weekly / 3 monthly / 4 yearly up to `turnusBis` (open point 14). The
subject is `text`; `betreff` and other unknown fields are dropped (A19). The list filters are
`kuerzel`, `von`, `bis` (dates, overlap) and `frnr`; any other parameter, `frNr` included, is
ignored (A18). Series are returned as one record (no expansion), like a master event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from aiohttp import web

from simulators.advoware.fields import (
    datetime_or_none,
    flag,
    parse_datetime,
    query_date,
    small_int,
    str_or_none,
    time_or_none,
)
from simulators.advoware.httputil import ApiError, int_param, not_found, read_object
from simulators.advoware.records import JsonDict, Termin
from simulators.advoware.state import AdvowareState

PATH = "/api/v1/advonet/Termine"
EMPLOYEES = "/api/v1/advonet/Mitarbeiter"


def _turnus_art(name: str, value: Any) -> int | None:
    return None if value is None else small_int(name, value, 0, 4)


FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "datum": datetime_or_none,
    "uhrzeitVon": time_or_none,
    "datumBis": datetime_or_none,
    "uhrzeitBis": time_or_none,
    "text": str_or_none,
    "notiz": str_or_none,
    "ort": str_or_none,
    "dauertermin": flag,
    "turnus": flag,
    "turnusArt": _turnus_art,
    "turnusBis": datetime_or_none,
    "kuerzel": str_or_none,
}


def _validate(state: AdvowareState, values: JsonDict) -> None:
    if not values.get("datum"):
        raise ApiError(400, "The field 'datum' is required.")
    if values.get("kuerzel") not in state.employees:
        raise ApiError(400, f"Unknown Mitarbeiter {values.get('kuerzel')!r}.")
    if values.get("datumBis") and parse_datetime("datumBis", values["datumBis"]).date() < _start(values):
        raise ApiError(400, "'datumBis' is before 'datum'.")


def _start(values: JsonDict) -> date:
    return parse_datetime("datum", values["datum"]).date()


def _last_day(values: JsonDict) -> date:
    """The last day the appointment (or series) occupies, for the window overlap."""
    if values.get("turnus"):
        return (
            parse_datetime("turnusBis", values["turnusBis"]).date() if values.get("turnusBis") else date.max
        )
    return parse_datetime("datumBis", values["datumBis"]).date() if values.get("datumBis") else _start(values)


def _filters(request: web.Request) -> list[Callable[[Termin], bool]]:
    query = request.query
    tests: list[Callable[[Termin], bool]] = []
    if "kuerzel" in query:
        tests.append(lambda t: t.values.get("kuerzel") == query["kuerzel"])
    if "frnr" in query:
        try:
            frnr = int(query["frnr"])
        except ValueError:
            raise ApiError(400, f"The value {query['frnr']!r} is not valid for 'frnr'.") from None
        tests.append(lambda t: t.frNr == frnr)
    if "von" in query:
        von = query_date("von", query["von"])
        tests.append(lambda t: _last_day(t.values) >= von)
    if "bis" in query:
        bis = query_date("bis", query["bis"])
        tests.append(lambda t: _start(t.values) <= bis)
    return tests


async def list_employees(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    return web.json_response(list(state.employees.values()))


async def list_termine(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    tests = _filters(request)
    found = [t.to_api() for t in state.termine.values() if all(test(t) for test in tests)]
    return web.json_response(found)


def _get(request: web.Request) -> tuple[AdvowareState, Termin]:
    state: AdvowareState = request.app["advoware"]
    termin = state.termine.get(int_param(request, "frNr", "Termin"))
    if termin is None:
        raise not_found("Termin")
    return state, termin


async def create(request: web.Request) -> web.Response:
    state: AdvowareState = request.app["advoware"]
    body = await read_object(request)
    values = {name: convert(name, body.get(name)) for name, convert in FIELDS.items()}
    _validate(state, values)
    termin = Termin(state.next_id("frNr"), state.short_row_id(), values)
    state.termine[termin.frNr] = termin
    return web.json_response(termin.to_api(), status=201)


async def update(request: web.Request) -> web.Response:
    state, termin = _get(request)
    body = await read_object(request)
    changes = {name: convert(name, body[name]) for name, convert in FIELDS.items() if name in body}
    values = {**termin.values, **changes}
    _validate(state, values)
    termin.values = values
    termin.rowId = state.short_row_id()
    return web.json_response(termin.to_api())


async def delete(request: web.Request) -> web.Response:
    state, termin = _get(request)
    del state.termine[termin.frNr]
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get(EMPLOYEES, list_employees)
    app.router.add_get(PATH, list_termine)
    app.router.add_post(PATH, create)
    app.router.add_put(PATH + "/{frNr}", update)
    app.router.add_delete(PATH + "/{frNr}", delete)
