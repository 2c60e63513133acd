"""The console in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by
selenium): log in, watch a queue's depth change while jobs are enqueued (the page refreshes
itself), find a party made to fail by a simulator fault, open its audit trail, fix the fault,
press "Sync now" and see it turn clean, replay a dead letter; refused without the password, a
form without its CSRF token refused. The overview's screenshot goes to tmp/artifacts/."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import PASSWORD, SYNC_CHECK, SYNC_QUEUE, ConsoleService

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tmp" / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1400",
]
WAIT = 30.0


def chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip(
            "no chromium/chromedriver: the browser tests need Debian's chromium and chromium-driver "
            "(scripts/test.sh installs them when run as root)"
        )
    return browser, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    binary, driver = chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="bitbylaw-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


class DetachedNode(Exception):
    """Chromium's "Node with given id does not belong to the document": the element was replaced."""


def detached_as_stale(condition: Callable[[Any], Any]) -> Callable[[Any], Any]:
    from selenium.common.exceptions import WebDriverException

    def check(chrome: Any) -> Any:
        try:
            return condition(chrome)
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc.msg):
                raise DetachedNode(exc.msg) from exc
            raise

    return check


class Page:
    """The browser on the console, with waits for what a person would look for."""

    def __init__(self, chrome: object, service: ConsoleService) -> None:
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.chrome, self.service, self.by = chrome, service, By
        # The page swaps its live part every second (and a click may load the next page): an
        # element found a moment ago may be gone. Chromium says so as a stale element, or as a
        # node that "does not belong to the document" (an unknown error): both mean look again.
        ignored = (NoSuchElementException, StaleElementReferenceException, DetachedNode)
        self.wait = WebDriverWait(chrome, WAIT, poll_frequency=0.1, ignored_exceptions=ignored)

    def open(self, path: str) -> None:
        self.chrome.get(self.service.url + path)  # type: ignore[attr-defined]

    def until(self, condition: Callable[[Any], Any], message: str = "") -> Any:
        return self.wait.until(detached_as_stale(condition), message)

    def find(self, css: str) -> object:
        return self.until(lambda c: c.find_element(self.by.CSS_SELECTOR, css))

    def click(self, css: str) -> None:
        self.until(lambda c: c.find_element(self.by.CSS_SELECTOR, css).click() or True)

    def text(self, css: str) -> str:
        return str(self.until(lambda c: c.find_element(self.by.CSS_SELECTOR, css).text or " "))

    def until_text(self, css: str, wanted: str) -> None:
        """Waits (without reloading: the page refreshes itself) until `css` shows `wanted`."""

        def shows(chrome: object) -> bool:
            found = chrome.find_elements(self.by.CSS_SELECTOR, css)  # type: ignore[attr-defined]
            return any(wanted in e.text for e in found)

        self.until(shows, f"{css} never showed {wanted!r}")

    def login(self) -> None:
        self.open("/console")
        self.find("#password").send_keys(PASSWORD)  # type: ignore[attr-defined]
        self.click("#login")
        self.until_text("h1", "Overview")

    @property
    def title(self) -> str:
        return str(self.chrome.title)  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: object, console_service: ConsoleService) -> Page:
    browser.delete_all_cookies()  # type: ignore[attr-defined]
    return Page(browser, console_service)


def test_refused_without_the_password_then_logged_in(page):
    page.open("/console/dead")
    assert page.chrome.get_cookie("bitbylaw_console_login")["secure"] is True  # the default
    page.until_text("h1", "Log in")
    page.find("#password").send_keys("wrong password")
    page.click("#login")
    page.until_text("#message", "Wrong password.")
    page.find("#password").send_keys(PASSWORD)
    page.click("#login")
    page.until_text("h1", "Dead letters")  # back where the browser wanted to go
    session = page.chrome.get_cookie("bitbylaw_console")
    assert session["httpOnly"] is True and session["sameSite"] == "Strict" and session["secure"] is True


def test_a_queues_depth_changes_on_the_overview_while_jobs_are_enqueued(page, console_service):
    page.login()
    depth = f'tr[data-queue="{SYNC_QUEUE}"] td.depth'
    page.until_text(depth, "0")
    console_service.enqueue(SYNC_CHECK, ["depth-1", "depth-2", "depth-3"])
    page.until_text(depth, "3")
    console_service.enqueue(SYNC_CHECK, ["depth-4", "depth-5"])
    page.until_text(depth, "5")
    console_service.start_worker()
    try:
        page.until_text(depth, "0")
    finally:
        console_service.stop_worker()


def test_a_failed_party_is_found_fixed_and_synced_now(page, console_service):
    page.login()
    console_service.advoware_faults([{"method": "POST", "route": "*/Beteiligte", "status": 400}])
    console_service.start_worker()
    try:
        party = console_service.create_party("Ottilie", "Fehlschlag")
        page.click('a[href="/console/attention"]')
        page.until_text(f'#records tr[data-id="{party}"]', "failed")  # appears while the page polls
        page.click(f'#records tr[data-id="{party}"] a')
        page.until_text('[data-side="EspoCRM"]', "found")
        page.until_text('[data-field="syncStatus"]', "failed")
        page.until_text("#audit .result", "failed")
        assert "HTTP 400" in page.text("#audit")
        console_service.advoware_faults(None)  # the operator fixed the cause
        page.click("#sync-now")
        page.until_text("#message", "Sync now: created")
        page.until_text('[data-field="syncStatus"]', "clean")
        page.until_text('[data-side="Advoware"]', "found")
        assert page.text("#audit .result") == "created"  # the newest entry first
        assert console_service.party(party)["syncStatus"] == "clean"
    finally:
        console_service.advoware_faults(None)
        console_service.stop_worker()


def test_a_dead_letter_is_replayed_after_a_confirmation(page, console_service):
    job_id = console_service.dead_letter("replay-me", "ServerError: espocrm GET CBeteiligte/{id}: HTTP 503")
    depth_before = console_service.queue_depth()
    page.login()
    page.click('a[href="/console/dead"]')
    row = f'#dead tr[data-id="{job_id}"]'
    page.until_text(row, "replay-me")
    assert "HTTP 503" in page.text(row)
    page.click(f"{row} a.replay")
    page.until_text("h1", "Replay dead letters")
    page.click("#confirm")
    page.until_text("#message", "Replayed 1 dead letter(s)")
    assert job_id not in {d.id for d in console_service.dead()}
    assert console_service.queue_depth() == depth_before + 1
    page.until_text("#replays", job_id)


def test_a_form_without_its_csrf_token_is_refused(page, console_service):
    job_id = console_service.dead_letter("csrf-me", "ServerError: HTTP 503")
    page.login()
    page.open(f"/console/dead/replay?id={job_id}")
    page.until_text("h1", "Replay dead letters")
    page.chrome.execute_script(
        "document.querySelector('form[action=\"/console/dead/replay\"] input[name=csrf]').remove()"
    )
    page.click("#confirm")
    page.until_text("#message", "CSRF token is missing or wrong")
    assert "Forbidden" in page.title
    assert job_id in {d.id for d in console_service.dead()}


def test_a_form_posted_after_the_session_ended_is_refused(page, console_service):
    job_id = console_service.dead_letter("logged-out", "ServerError: HTTP 503")
    page.login()
    page.open("/console/dead/replay?all=1")
    page.until_text("h1", "Replay dead letters")
    page.chrome.delete_cookie("bitbylaw_console")
    page.click("#confirm")
    page.until_text("#message", "Not logged in")
    assert job_id in {d.id for d in console_service.dead()}


def test_a_screenshot_of_the_overview_is_written(page):
    """Last in this module: the syncs above fill the outcome chart."""
    page.login()
    page.until_text("#live h3", "CBeteiligte")
    page.find("svg.chart rect")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "console-overview.png"
    page.chrome.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
