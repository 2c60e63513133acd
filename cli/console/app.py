"""The console's routes on the HTTP edge of an api process, and the guard every one passes.

The guard, in the edge's order: the session cookie is checked before anything is read (a GET
without one is sent to the login page, a POST without one is refused with its body unread);
a POST's form is read under the edge's body deadline and size limit (`HttpApp.read_form`)
and must carry the session's CSRF token (the login form: the token of its own cookie). Every
answer carries a strict Content-Security-Policy (scripts and styles from /console/static only)
and `Cache-Control: no-store`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from config import Settings
from engine.context import Locks, StateScope
from engine.http_server import TRACE_ID, HttpApp
from services.db import AuditEntry
from steps import deps

from ..output import when
from . import records, views
from .sessions import LOGIN_COOKIE, SESSION_COOKIE, Session, Sessions, new_token, same

log = logging.getLogger("bitbylaw.console")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PACKAGE = Path(str(files("cli.console")))
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Where a login may send the browser afterwards: console pages only (no open redirect).
NEXT = re.compile(r"/console(/[A-Za-z0-9._~/%-]*)?(\?[A-Za-z0-9._~=&%-]*)?")


class Console:
    def __init__(self, edge: HttpApp, settings: Settings) -> None:
        self.edge, self.settings = edge, settings
        state = StateScope(edge.backend)
        self.scope = views.ServiceScope(edge.resources, state, Locks(edge.backend))
        self.sessions = Sessions(
            state,
            settings.console_password.get_secret_value(),
            settings.console_session_hours * 3600,
            settings.console_max_login_failures,
        )
        self.templates = Environment(
            loader=FileSystemLoader(PACKAGE / "templates"),
            autoescape=select_autoescape(default=True),
            auto_reload=False,  # they ship with the package
        )
        self.templates.filters["when"] = when
        self.templates.globals["static"] = self._static_url()
        self.templates.globals["now_text"] = lambda: time.strftime("%H:%M:%S UTC", time.gmtime())

    def _static_url(self) -> Callable[[str], str]:
        """URLs of the static files with a hash of their content (cached, never stale)."""
        versions = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in (PACKAGE / "static").iterdir()
        }
        return lambda name: f"/console/static/{name}?v={versions[name]}"

    def mount(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/console", self.overview, False),
            ("GET", "/console/login", self.login_form, True),
            ("POST", "/console/login", self.login, True),
            ("POST", "/console/logout", self.logout, False),
            ("GET", "/console/attention", self.attention, False),
            ("GET", "/console/dead", self.dead_letters, False),
            ("GET", "/console/dead/replay", self.confirm_replay, False),
            ("POST", "/console/dead/replay", self.replay, False),
            ("GET", "/console/records/{entity}/{id}", self.record, False),
            ("POST", "/console/records/{entity}/{id}/sync", self.sync, False),
        ]
        for method, path, handler, public in routes:
            app.router.add_route(method, path, self.guarded(handler, public=public))
        app.router.add_static("/console/static", PACKAGE / "static")

    # -- the guard ------------------------------------------------------------------------------
    def guarded(self, handler: Handler, *, public: bool) -> Handler:
        async def guard(request: web.Request) -> web.StreamResponse:
            session = None if public else await self.sessions.find(request.cookies.get(SESSION_COOKIE))
            if session is None and not public:
                return secured(self.not_logged_in(request))
            request["console_session"] = session
            if request.method == "POST":
                form = await self.edge.read_form(request)
                if isinstance(form, web.Response):
                    return secured(form)
                expected = session.csrf if session else request.cookies.get(LOGIN_COOKIE)
                if not same(form.get("csrf"), expected):
                    log.warning("console form refused: CSRF token missing or wrong")
                    text = "The form's CSRF token is missing or wrong: nothing was done. Reload the page."
                    return secured(self.refused(request, 403, text))
                request["console_form"] = form
            return secured(await handler(request))

        return guard

    def not_logged_in(self, request: web.Request) -> web.Response:
        if request.headers.get("HX-Request"):  # a page polling after its session ended
            return web.Response(status=401, headers={"HX-Redirect": "/console/login"})
        if request.method == "GET":
            return see_other(f"/console/login?next={quote(request.path_qs)}")
        response = self.refused(request, 401, "Not logged in (or the session ended): nothing was done.")
        response.force_close()  # the body is never read
        return response

    def page(self, request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
        session: Session | None = request.get("console_session")
        html = self.templates.get_template(template).render(
            request=request,
            session=session,
            refresh=self.settings.console_refresh_seconds,
            live_url=values.pop("live_url", request.path_qs),
            **values,
        )
        return web.Response(text=html, status=status, content_type="text/html")

    def refused(self, request: web.Request, status: int, message: str) -> web.Response:
        return self.page(request, "refused.html", status, title=HTTPStatus(status).phrase, message=message)

    def cookie(self, response: web.Response, name: str, value: str, max_age: float) -> None:
        response.set_cookie(
            name,
            value,
            max_age=int(max_age),
            path="/console",
            httponly=True,
            samesite="Strict",
            secure=self.settings.console_cookie_secure,
        )

    # -- login ----------------------------------------------------------------------------------
    async def login_form(self, request: web.Request) -> web.Response:
        if await self.sessions.find(request.cookies.get(SESSION_COOKIE)):
            return see_other(next_page(request.query.get("next")))
        return self._login_page(request, request.query.get("next"))

    def _login_page(
        self, request: web.Request, after: str | None, message: str = "", status: int = 200
    ) -> web.Response:
        token = new_token()
        response = self.page(
            request, "login.html", status, title="Log in", csrf=token, message=message, next=next_page(after)
        )
        self.cookie(response, LOGIN_COOKIE, token, 3600)
        return response

    async def login(self, request: web.Request) -> web.Response:
        form, client = request["console_form"], request.remote or "unknown"
        wait = await self.sessions.logins_refused(client)
        if wait is not None:
            log.warning("console login refused: too many failed logins")
            text = f"Too many failed logins: try again in {wait / 60:.0f} minute(s)."
            return self._login_page(request, form.get("next"), text, 429)
        if not self.sessions.password_matches(form.get("password", "")):
            await self.sessions.login_failed(client)
            log.warning("console login failed")
            return self._login_page(request, form.get("next"), "Wrong password.", 401)
        await self.sessions.login_succeeded(client)
        session_id, _ = await self.sessions.open()
        log.info("console login")
        response = see_other(next_page(form.get("next")))
        self.cookie(response, SESSION_COOKIE, session_id, self.sessions.lifetime_s)
        response.del_cookie(LOGIN_COOKIE, path="/console")
        return response

    async def logout(self, request: web.Request) -> web.Response:
        await self.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = see_other("/console/login")
        response.del_cookie(SESSION_COOKIE, path="/console")
        return response

    # -- pages ----------------------------------------------------------------------------------
    async def overview(self, request: web.Request) -> web.Response:
        data = await views.overview(self.edge, self.scope, self.settings.cron_timezone)
        return self.page(request, "overview.html", title="Overview", **data)

    async def attention(self, request: web.Request) -> web.Response:
        data = await views.attention(self.scope, self.settings.health_locked_seconds)
        return self.page(request, "attention.html", title="Needs attention", **data)

    async def dead_letters(self, request: web.Request) -> web.Response:
        data = await views.dead_letters(self.edge, self.scope)
        done = request.query.get("replayed")
        return self.page(request, "dead.html", title="Dead letters", done=done, **data)

    async def confirm_replay(self, request: web.Request) -> web.Response:
        job_id = request.query.get("id")
        row = await views.find_dead_letter(self.edge, job_id) if job_id else None
        if job_id and row is None:
            return self.refused(request, 404, f"No dead letter {job_id}.")
        total = (await views.dead_letters(self.edge, self.scope))["total"]
        return self.page(request, "confirm.html", title="Replay dead letters", row=row, total=total)

    async def replay(self, request: web.Request) -> web.Response:
        form = request["console_form"]
        everything = form.get("all") == "1"
        job_id = form.get("id", "")
        if not everything and not job_id:
            return self.refused(request, 400, "Name a dead letter.")
        replayed = await self.edge.backend.replay_dead(None if everything else [job_id])
        log.info("console replayed dead letters", extra={"count": replayed, "all": everything})
        if not everything and not replayed:  # a second submit, or replayed meanwhile elsewhere
            return self.refused(request, 404, f"No dead letter {job_id} (already replayed?): nothing done.")
        try:
            await self._audit_replay(request, "all" if everything else job_id, replayed)
        except Exception as exc:  # the replay happened: say so, and that its audit entry is missing
            log.warning("console replay not audited", extra={"error_type": type(exc).__name__})
            return self.refused(
                request, 500, f"Replayed {replayed} dead letter(s), but the audit entry could not be written."
            )
        return see_other(f"/console/dead?replayed={replayed}")

    async def _audit_replay(self, request: web.Request, which: str, count: int) -> None:
        entry = AuditEntry(
            entity_type=views.CONSOLE_ENTITY,
            entity_id=views.DEAD_LETTERS,
            action="dlq_replay",
            result=f"replayed {count}",
            trace_id=request.get(TRACE_ID),
            trigger="console",
            decision={"dead_letters": which},
        )
        await (await deps.database(self.scope)).add_audit(entry)

    async def record(self, request: web.Request, result: records.SyncResult | None = None) -> web.Response:
        entity, entity_id = request.match_info["entity"], request.match_info["id"]
        if not records.known(entity, entity_id):
            return self.refused(request, 404, f"No {entity} page.")
        data = await records.record_page(self.scope, entity, entity_id)
        url = f"/console/records/{entity}/{entity_id}"
        return self.page(
            request, "record.html", title=f"{entity} {entity_id}", result=result, live_url=url,
            synced=request.query.get("synced"), **data,
        )  # fmt: skip

    async def sync(self, request: web.Request) -> web.Response:
        entity, entity_id = request.match_info["entity"], request.match_info["id"]
        if not records.known(entity, entity_id):
            return self.refused(request, 404, f"No {entity} page.")
        dry_run = request["console_form"].get("dry_run") == "1"
        result = await records.sync_now(
            self.scope,
            entity_id,
            dry_run=dry_run,
            show_values=self.settings.audit_show_values,
            trace_id=request[TRACE_ID],
        )
        log.info("console sync", extra={"entity_id": entity_id, "dry_run": dry_run, "status": result.status})
        if dry_run or result.status in ("refused", "error"):
            return await self.record(request, result)  # a preview or a refusal: shown, not stored
        return see_other(f"/console/records/{entity}/{entity_id}?synced={result.status}")


def secured(response: web.StreamResponse) -> web.StreamResponse:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def next_page(candidate: str | None) -> str:
    return candidate if candidate and NEXT.fullmatch(candidate) else "/console"


def console_extension(settings: Settings) -> Callable[[HttpApp], None] | None:
    """The engine hook that mounts the console, or None when no CONSOLE_PASSWORD is set."""
    if not settings.console_password.get_secret_value():
        return None

    def mount(edge: HttpApp) -> None:
        Console(edge, settings).mount(edge.app)

    return mount
