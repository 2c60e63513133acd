"""The console over plain HTTP against the live, sandbox-wired service: who gets in, what a form
must carry, the edge's bounds on form bodies, and that the pages show ids and statuses, never a
party's name."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from services.db import open_database
from tests.console.conftest import PASSWORD, SYNC_QUEUE, Browserless, ConsoleService

pytestmark = [pytest.mark.timeout(120)]
# urllib's cookie jar sends a Secure cookie over https only (a browser also over http://127.0.0.1,
# as the browser tests show with the default).
CONSOLE_SETTINGS = {"console_cookie_secure": False}


@pytest.fixture
def client(console_service: ConsoleService) -> Browserless:
    return Browserless(console_service.url)


@pytest.fixture
def logged_in(client: Browserless) -> Browserless:
    status, headers, _ = client.login()
    assert status == 303 and headers["Location"] == "/console", headers
    return client


def test_a_page_without_a_session_sends_the_browser_to_the_login(client):
    status, headers, _ = client.request("GET", "/console/dead")
    assert status == 303 and headers["Location"] == "/console/login?next=/console/dead"
    # A poll (htmx) whose session ended is told where to go instead of getting the login page.
    status, headers, _ = client.request("GET", "/console", headers={"HX-Request": "true"})
    assert status == 401 and headers["HX-Redirect"] == "/console/login"


def test_login_sets_a_strict_httponly_cookie_and_a_wrong_password_gets_nothing(client):
    status, _, html = client.login("not the password")
    assert status == 401 and "Wrong password." in html
    assert client.cookie("bitbylaw_console") is None
    status, headers, _ = client.login()
    assert status == 303
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    status, _, html = client.request("GET", "/console")
    assert status == 200 and "vmh.beteiligte.sync_check" in html


def test_the_login_form_needs_its_csrf_token(client):
    status, _, html = client.request("POST", "/console/login", {"password": PASSWORD})
    assert status == 403 and "CSRF" in html
    client.request("GET", "/console/login")  # the cookie half of the token, but no form half
    status, _, _ = client.request("POST", "/console/login", {"password": PASSWORD, "csrf": "guessed"})
    assert status == 403 and client.cookie("bitbylaw_console") is None


def test_a_post_without_a_session_or_without_the_csrf_token_does_nothing(console_service, client):
    job_id = console_service.dead_letter("csrf-probe", "ServerError: EspoCRM 503")
    try:
        status, headers, html = client.request("POST", "/console/dead/replay", {"id": job_id, "csrf": "x"})
        assert status == 401 and "Not logged in" in html and headers.get("Connection") == "close"
        client.login()
        for form in ({"id": job_id}, {"id": job_id, "csrf": "wrong"}):
            status, _, html = client.request("POST", "/console/dead/replay", form)
            assert status == 403 and "CSRF token is missing or wrong" in html
        assert job_id in {d.id for d in console_service.dead()}
        _, _, page = client.request("GET", f"/console/dead/replay?id={job_id}")
        status, headers, _ = client.request(
            "POST", "/console/dead/replay", {"id": job_id, "csrf": client.csrf(page)}
        )
        assert status == 303 and headers["Location"] == "/console/dead?replayed=1"
        assert job_id not in {d.id for d in console_service.dead()}
    finally:
        console_service.call(console_service.backend.replay_dead([job_id]))
        drain(console_service)


def drain(service: ConsoleService) -> None:
    async def take() -> None:
        jobs = await service.backend.fetch(SYNC_QUEUE, 100, 30.0, "console-test")
        if jobs:
            await service.backend.ack(jobs)

    service.call(take())


def test_a_replay_is_audited(console_service, logged_in):
    job_id = console_service.dead_letter("audit-probe", "TransportError: Advoware unreachable")
    _, _, page = logged_in.request("GET", f"/console/dead/replay?id={job_id}")
    assert "audit-probe" in page and "TransportError" in page
    logged_in.request("POST", "/console/dead/replay", {"id": job_id, "csrf": logged_in.csrf(page)})
    drain(console_service)

    async def replays() -> list:
        assert console_service.settings is not None
        async with open_database(console_service.settings.service_database_url()) as db:
            return await db.list_audit("console", "dead-letters")

    [entry, *_] = console_service.call(replays())
    assert (entry.action, entry.result, entry.trigger, entry.decision) == (
        "dlq_replay",
        "replayed 1",
        "console",
        {"dead_letters": job_id},
    )
    _, _, html = logged_in.request("GET", "/console/dead")
    assert entry.trace_id in html


def test_form_bodies_are_bounded_like_every_body(logged_in):
    too_many = {f"f{i}": "x" for i in range(60)}
    status, _, body = logged_in.request("POST", "/console/logout", too_many)
    assert status == 400 and "invalid_form" in body
    status, _, body = logged_in.request(
        "POST", "/console/logout", {"csrf": "x"}, headers={"Content-Type": "application/json"}
    )
    assert status == 415
    status, _, body = logged_in.request("POST", "/console/logout", {"csrf": "x" * (2 * 1024 * 1024)})
    assert status == 413
    status, _, _ = logged_in.request("GET", "/console")
    assert status == 200  # still logged in: nothing above got past the guard


def test_too_many_failed_logins_lock_the_login_for_a_while(console_service):
    from cli.console.sessions import Sessions

    class State(dict):
        async def get(self, scope, key):
            return super().get((scope, key))

        async def set(self, scope, key, value, ttl=None):
            self[(scope, key)] = value

        async def delete(self, scope, key):
            return self.pop((scope, key), None) is not None

    now = [1000.0]
    sessions = Sessions(State(), "right-password", 3600, max_failures=3, clock=lambda: now[0])

    async def scenario() -> list:
        seen = []
        for _ in range(3):
            seen.append(await sessions.logins_refused("c"))
            await sessions.login_failed("c")
        seen.append(await sessions.logins_refused("c"))
        now[0] += 901
        seen.append(await sessions.logins_refused("c"))
        return seen

    assert console_service.call(scenario()) == [None, None, None, 900.0, None]


def test_a_session_ends_when_it_expires_or_the_password_changes(console_service):
    from cli.console.sessions import Sessions
    from engine.context import StateScope

    state = StateScope(console_service.backend)
    now = [time.time()]
    old = Sessions(state, "password-one-long", 60, 10, clock=lambda: now[0])
    new = Sessions(state, "password-two-long", 60, 10, clock=lambda: now[0])

    async def scenario() -> tuple:
        session_id, session = await old.open()
        found = await old.find(session_id)
        after_change = await new.find(session_id)
        now[0] += 61
        expired = await old.find(session_id)
        return session, found, after_change, expired

    session, found, after_change, expired = console_service.call(scenario())
    assert found == session and after_change is None and expired is None


def test_pages_show_ids_and_statuses_never_a_name(console_service, logged_in):
    console_service.advoware_faults([{"method": "POST", "route": "*/Beteiligte", "status": 400}])
    try:
        party = console_service.create_party("Xaverine", "Quirinius")
        console_service.start_worker()
        deadline = time.monotonic() + 20
        while console_service.party(party).get("syncStatus") != "failed" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        console_service.stop_worker()
        console_service.advoware_faults(None)
    pages = ["/console", "/console/attention", f"/console/records/CBeteiligte/{party}", "/console/dead"]
    for page in pages:
        status, headers, html = logged_in.request("GET", page)
        assert status == 200, page
        assert "Xaverine" not in html and "Quirinius" not in html, page
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"
    _, _, attention = logged_in.request("GET", "/console/attention")
    assert f'data-id="{party}"' in attention and "HTTP 400" in attention
    _, _, preview = logged_in.request(
        "POST",
        f"/console/records/CBeteiligte/{party}/sync",
        {"dry_run": "1", "csrf": logged_in.csrf(attention)},
    )
    assert "Dry run (nothing written)" in preview and "to Advoware: name, vorname" in preview
    assert "Xaverine" not in preview


def test_unknown_records_and_odd_ids_have_no_page(logged_in):
    for path in (
        "/console/records/Account/abc",
        "/console/records/CBeteiligte/a%2Fb",
        "/console/records/CBeteiligte/" + "x" * 65,
    ):
        status, _, html = logged_in.request("GET", path)
        assert status == 404, path


def test_the_console_is_off_without_a_password_and_not_in_the_openapi_document(console_service):
    from cli.console import console_extension

    assert console_service.settings is not None
    assert (
        console_extension(console_service.settings.model_copy(update={"console_password": SecretStr("")}))
        is None
    )
    import json
    import urllib.request

    with urllib.request.urlopen(console_service.url + "/openapi.json", timeout=10) as r:
        paths = json.loads(r.read())["paths"]
    assert paths and not [p for p in paths if p.startswith("/console")]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=80).map(
            lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
        ),
        st.sampled_from([b"csrf=%ff%fe", b"%", b"a=1&&&b", b"csrf", b"\x00=\x00"]),
    ),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]),
)
def test_hostile_form_bodies_of_a_logged_in_browser_are_refused_without_a_5xx(
    console_service, body, content_type
):
    client = _fuzz_client(console_service)
    job_id = _fuzz_dead_letter(console_service)
    status, _, _ = client.raw("POST", "/console/dead/replay", body, content_type)
    assert status in (400, 403, 413, 415), status
    assert job_id in {d.id for d in console_service.dead()}


_FUZZ: dict[str, object] = {}


def _fuzz_client(service: ConsoleService) -> Browserless:
    if "client" not in _FUZZ:
        client = Browserless(service.url)
        client.login()
        _FUZZ["client"] = client
    return _FUZZ["client"]  # type: ignore[return-value]


def _fuzz_dead_letter(service: ConsoleService) -> str:
    if "job" not in _FUZZ:
        _FUZZ["job"] = service.dead_letter("fuzz-probe", "ServerError: HTTP 503")
    return str(_FUZZ["job"])


def test_a_replay_submitted_twice_replays_once(console_service, logged_in):
    job_id = console_service.dead_letter("twice", "ServerError: HTTP 503")
    depth = console_service.queue_depth()
    _, _, page = logged_in.request("GET", f"/console/dead/replay?id={job_id}")
    form = {"id": job_id, "csrf": logged_in.csrf(page)}
    first, _, _ = logged_in.request("POST", "/console/dead/replay", form)
    second, _, html = logged_in.request("POST", "/console/dead/replay", form)
    assert (first, second) == (303, 404) and "already replayed?" in html
    assert console_service.queue_depth() == depth + 1
    drain(console_service)


def test_a_replay_whose_audit_entry_cannot_be_written_says_so(console_service, logged_in, monkeypatch):
    from cli.console.app import Console

    async def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Console, "_audit_replay", broken)
    job_id = console_service.dead_letter("unaudited", "ServerError: HTTP 503")
    _, _, page = logged_in.request("GET", f"/console/dead/replay?id={job_id}")
    status, _, html = logged_in.request(
        "POST", "/console/dead/replay", {"id": job_id, "csrf": logged_in.csrf(page)}
    )
    assert status == 500 and "Replayed 1 dead letter(s), but the audit entry could not be written" in html
    assert job_id not in {d.id for d in console_service.dead()}  # the replay itself happened
    drain(console_service)


def test_a_record_page_says_when_the_service_database_is_down(console_service, logged_in, monkeypatch):
    """The page still shows EspoCRM's side; the database's side and the audit trail say why not."""
    from cli.console import records
    from steps.deps import ServiceDatabaseUnavailable

    party = console_service.create_party("Dora", "Datenbank")
    before, _, _ = logged_in.request("GET", f"/console/records/CBeteiligte/{party}")  # builds the sync
    assert before == 200

    async def down(scope):
        raise ServiceDatabaseUnavailable(
            "service database unreachable: connection refused (check DATABASE_URL)"
        )

    monkeypatch.setattr(records.deps, "database", down)
    status, _, html = logged_in.request("GET", f"/console/records/CBeteiligte/{party}")
    assert status == 200
    assert 'data-side="EspoCRM">found' in html and 'data-side="service database">unreachable' in html
    assert html.count("service database unreachable: connection refused") == 2  # the side and the trail
