"""Google-specific admin routes next to the shared `/_admin` ones:

- `POST /_admin/rate-limit` `{"count": N, "kind": "403"|"429"|"quotaExceeded"|
  "userRateLimitExceeded", "route": null}` answers the next N API calls (optionally only
  paths matching `route`, a glob or substring, and only those of `method`) with Google's
  rate-limit error (G9);
  `DELETE /_admin/rate-limit` clears the queue.
- `POST /_admin/invalidate-sync-tokens` makes every issued sync token answer 410 (G4).
- `POST /_admin/snapshot` `{"path": optional}` writes the state as JSON.
- `POST /_admin/clock` `{"advance_s": N}` moves the simulator's data clock (`updated`,
  `updatedMin`, sync-token age); tokens and JWTs keep real time.
- `POST /_admin/users` `{"users": ["sb@kanzlei.example"]}` adds Workspace users (delegation
  subjects the token endpoint accepts); `GET /_admin/users` lists them.
- `POST /_admin/expire-tokens` makes every issued access token invalid (expiry, revocation):
  the next API call with one answers 401.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp import web

from simulators.common.admin import error_response, json_object
from simulators.google.errors import RATE_LIMIT_KINDS
from simulators.google.request_util import google_state
from simulators.google.state import RateLimitRule


async def add_rate_limit(request: web.Request) -> web.Response:
    state = google_state(request)
    body = await json_object(request)
    kind = str(body.get("kind", "403"))
    if kind not in RATE_LIMIT_KINDS:
        return error_response(400, f"kind must be one of {sorted(RATE_LIMIT_KINDS)}")
    count = int(body.get("count", 1))
    method = body.get("method")
    state.rate_limits.append(RateLimitRule(count=count, kind=kind, route=body.get("route"), method=method))
    pending = sum(rule.count for rule in state.rate_limits)
    return web.json_response({"status": "ok", "pending": pending})


async def clear_rate_limits(request: web.Request) -> web.Response:
    google_state(request).rate_limits.clear()
    return web.json_response({"status": "ok"})


async def invalidate_sync_tokens(request: web.Request) -> web.Response:
    state = google_state(request)
    state.invalidate_sync_tokens()
    return web.json_response({"status": "ok", "epoch": state.epoch})


async def snapshot(request: web.Request) -> web.Response:
    state = google_state(request)
    body = await json_object(request)
    raw_path = body.get("path") or state.config.snapshot_path
    if not raw_path:
        return error_response(400, "no snapshot path configured or given")
    path = Path(raw_path)
    state.save_snapshot(path)
    return web.json_response({"status": "ok", "path": str(path)})


async def move_clock(request: web.Request) -> web.Response:
    state = google_state(request)
    body = await json_object(request)
    state.clock_offset += timedelta(seconds=float(body.get("advance_s", 0)))
    return web.json_response({"now": state.now().isoformat(), "offset_s": state.clock_offset.total_seconds()})


async def add_users(request: web.Request) -> web.Response:
    state = google_state(request)
    users = (await json_object(request)).get("users")
    if not isinstance(users, list) or not all(isinstance(u, str) and "@" in u for u in users):
        return error_response(400, "users must be a list of e-mail addresses")
    state.users |= {u.strip().lower() for u in users}
    return web.json_response({"users": sorted(state.users)})


async def list_users(request: web.Request) -> web.Response:
    return web.json_response({"users": sorted(google_state(request).users)})


async def expire_tokens(request: web.Request) -> web.Response:
    state = google_state(request)
    expired = len(state.issued_tokens)
    state.issued_tokens.clear()
    return web.json_response({"status": "ok", "expired": expired})


def add_admin_extras(app: web.Application) -> None:
    app.router.add_post("/_admin/users", add_users)
    app.router.add_get("/_admin/users", list_users)
    app.router.add_post("/_admin/expire-tokens", expire_tokens)
    app.router.add_post("/_admin/rate-limit", add_rate_limit)
    app.router.add_delete("/_admin/rate-limit", clear_rate_limits)
    app.router.add_post("/_admin/invalidate-sync-tokens", invalidate_sync_tokens)
    app.router.add_post("/_admin/snapshot", snapshot)
    app.router.add_post("/_admin/clock", move_clock)
