"""Parsing and validating the parameters of `events.list` (G3, orderBy, paging limits)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from multidict import MultiMapping

from simulators.google.config import GoogleSimConfig
from simulators.google.errors import GoogleError, bad_request
from simulators.google.timeutil import parse_instant, valid_zone_name

# G3: these cannot be combined with syncToken.
SYNC_INCOMPATIBLE = ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "privateExtendedProperty",
                     "sharedExtendedProperty", "iCalUID")  # fmt: skip
# Parameters that do not change which items a listing returns (so not part of a page token's query).
_NOT_IN_FINGERPRINT = {"pageToken", "maxResults", "syncToken", "alt", "prettyPrint", "fields", "key"}


@dataclass
class ListQuery:
    max_results: int
    page_token: str | None = None
    sync_token: str | None = None
    time_min: datetime | None = None
    time_max: datetime | None = None
    single_events: bool = False
    order_by: str | None = None
    updated_min: datetime | None = None
    show_deleted: bool = False
    private_props: list[tuple[str, str]] = field(default_factory=list)
    shared_props: list[tuple[str, str]] = field(default_factory=list)
    q: str | None = None
    ical_uid: str | None = None
    time_zone: str | None = None
    fingerprint: str = ""


def _bool(params: MultiMapping[str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise bad_request(f"Invalid value for: {name}", "invalidParameter", location=name)
    return value == "true"


def _int(params: MultiMapping[str], name: str, default: int, cap: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError as exc:
        raise bad_request(f"Invalid value for: {name}", "invalidParameter", location=name) from exc
    if value < 1:
        raise bad_request(f"Invalid value for: {name}", "invalidParameter", location=name)
    return min(value, cap)  # Google silently caps the page size


def _props(params: MultiMapping[str], name: str) -> list[tuple[str, str]]:
    out = []
    for raw in params.getall(name, []):
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise bad_request(f"Invalid value for: {name}", "invalidParameter", location=name)
        out.append((key, value))
    return out


def _instant(params: MultiMapping[str], name: str) -> datetime | None:
    raw = params.get(name)
    return parse_instant(raw, name) if raw else None


def fingerprint(params: MultiMapping[str]) -> str:
    kept = sorted((k, v) for k, v in params.items() if k not in _NOT_IN_FINGERPRINT)
    return hashlib.sha256(repr(kept).encode()).hexdigest()[:16]


def parse_list_query(params: MultiMapping[str], config: GoogleSimConfig) -> ListQuery:
    sync_token = params.get("syncToken") or None
    if sync_token is not None:
        clash = [name for name in SYNC_INCOMPATIBLE if name in params]
        if clash:
            raise bad_request(
                f"Invalid combination of syncToken with {clash[0]}.", "invalid", location=clash[0]
            )
    query = ListQuery(
        max_results=_int(params, "maxResults", config.max_results_default, config.max_results_cap),
        page_token=params.get("pageToken") or None,
        sync_token=sync_token,
        time_min=_instant(params, "timeMin"),
        time_max=_instant(params, "timeMax"),
        single_events=_bool(params, "singleEvents"),
        order_by=params.get("orderBy") or None,
        updated_min=_instant(params, "updatedMin"),
        show_deleted=_bool(params, "showDeleted"),
        private_props=_props(params, "privateExtendedProperty"),
        shared_props=_props(params, "sharedExtendedProperty"),
        q=params.get("q") or None,
        ical_uid=params.get("iCalUID") or None,
        time_zone=params.get("timeZone") or None,
        fingerprint=fingerprint(params),
    )
    _check(query)
    return query


def _check(query: ListQuery) -> None:
    if query.order_by not in (None, "startTime", "updated"):
        raise bad_request("Invalid value for: orderBy", "invalidParameter", location="orderBy")
    if query.order_by == "startTime" and not query.single_events:
        raise GoogleError(
            400, "The requested ordering is not available for the particular query.", "badRequest"
        )
    if query.time_min and query.time_max and query.time_max < query.time_min:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    if query.time_zone and not valid_zone_name(query.time_zone):
        raise bad_request("Invalid time zone definition.", "invalidParameter", location="timeZone")


@dataclass
class InstancesQuery:
    max_results: int
    page_token: str | None
    time_min: datetime | None
    time_max: datetime | None
    show_deleted: bool
    time_zone: str | None
    fingerprint: str


def parse_instances_query(params: MultiMapping[str], config: GoogleSimConfig) -> InstancesQuery:
    """`events.instances`: a window, showDeleted, paging (no sync tokens for instances)."""
    query = InstancesQuery(
        max_results=_int(params, "maxResults", config.max_results_default, config.max_results_cap),
        page_token=params.get("pageToken") or None,
        time_min=_instant(params, "timeMin"),
        time_max=_instant(params, "timeMax"),
        show_deleted=_bool(params, "showDeleted"),
        time_zone=params.get("timeZone") or None,
        fingerprint=fingerprint(params),
    )
    if query.time_min and query.time_max and query.time_max < query.time_min:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    return query
