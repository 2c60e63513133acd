"""Calendar sharing (`acl.insert`, `acl.list`, `acl.get`, `acl.delete`): how a calendar in the
owner's account becomes visible and editable for its employee (SYNC_RULES §5, owner mode).

Rules are keyed `<scope type>:<value>` (`user:sb@kanzlei.example`, or `default`); inserting a
rule for a scope that has one replaces its role, so sharing twice is harmless. The owner's own
rule is listed first and cannot be changed. Reading rules needs writer, changing them owner.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from simulators.google.access import ROLES, SCOPE_TYPES
from simulators.google.errors import bad_request, not_found
from simulators.google.ids import etag
from simulators.google.request_util import calendar_or_404, google_state, json_body
from simulators.google.state import AclRule, Calendar
from simulators.google.tokens import issue_offset_token, read_offset_token

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DOMAIN = re.compile(r"[a-z0-9.-]+\.[a-z]{2,}")


def render_rule(rule: AclRule) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": rule.scope_type}
    if rule.scope_value is not None:
        scope["value"] = rule.scope_value
    return {"kind": "calendar#aclRule", "etag": rule.etag, "id": rule.id, "scope": scope, "role": rule.role}


def owner_rule(calendar: Calendar) -> AclRule:
    return AclRule("user", calendar.owner, "owner", calendar.etag)


def _parse_rule(body: dict[str, Any]) -> tuple[str, str | None, str]:
    role, scope = body.get("role"), body.get("scope")
    if role not in ROLES:
        raise bad_request("Invalid value for: role", "invalid")
    if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
        raise bad_request("Invalid scope type.", "invalid")
    kind, value = scope["type"], scope.get("value")
    if kind == "default":
        return kind, None, role
    if not isinstance(value, str) or not value.strip():
        raise bad_request("Missing scope value.", "required")
    value = value.strip().lower()
    valid = _DOMAIN.fullmatch(value) if kind == "domain" else _EMAIL.fullmatch(value)
    if not valid:
        raise bad_request("Invalid scope value.", "invalid")
    return kind, value, role


async def insert_rule(request: web.Request) -> web.Response:
    state = google_state(request)
    calendar = calendar_or_404(request, need="owner")
    kind, value, role = _parse_rule(await json_body(request))
    if kind == "user" and value == calendar.owner:
        raise bad_request("The owner's access cannot be changed.", "cannotChangeOwnAcl")
    seq, now = state.next_change()
    rule = AclRule(kind, value, role, etag(now, seq))
    calendar.acl[rule.id] = rule
    return web.json_response(render_rule(rule))


async def list_rules(request: web.Request) -> web.Response:
    state = google_state(request)
    calendar = calendar_or_404(request, need="writer")
    try:
        size = min(max(int(request.query.get("maxResults", 100)), 1), 250)
    except ValueError as exc:
        raise bad_request("Invalid value for: maxResults", "invalidParameter") from exc
    offset = read_offset_token("A", request.query.get("pageToken"))
    rules = [owner_rule(calendar), *calendar.acl.values()]
    page = rules[offset : offset + size]
    body: dict[str, Any] = {
        "kind": "calendar#acl",
        "etag": f'"a{state.epoch[:6]}{state.change_seq:010d}"',
        "items": [render_rule(r) for r in page],
    }
    if offset + len(page) < len(rules):
        body["nextPageToken"] = issue_offset_token("A", offset + len(page))
    return web.json_response(body)


def _rule_or_404(calendar: Calendar, rule_id: str) -> AclRule:
    if rule_id == f"user:{calendar.owner}":
        return owner_rule(calendar)
    rule = calendar.acl.get(rule_id)
    if rule is None:
        raise not_found()
    return rule


async def get_rule(request: web.Request) -> web.Response:
    calendar = calendar_or_404(request, need="writer")
    rule = _rule_or_404(calendar, request.match_info["ruleId"])
    return web.json_response(render_rule(rule))


async def delete_rule(request: web.Request) -> web.Response:
    calendar = calendar_or_404(request, need="owner")
    rule = _rule_or_404(calendar, request.match_info["ruleId"])
    if rule.role == "owner" and rule.scope_value == calendar.owner:
        raise bad_request("The owner's access cannot be changed.", "cannotChangeOwnAcl")
    del calendar.acl[rule.id]
    return web.Response(status=204)


def add_acl_routes(app: web.Application, base: str) -> None:
    acl = f"{base}/calendars/{{calendarId}}/acl"
    app.router.add_post(acl, insert_rule)
    app.router.add_get(acl, list_rules)
    app.router.add_get(f"{acl}/{{ruleId}}", get_rule)
    app.router.add_delete(f"{acl}/{{ruleId}}", delete_rule)
