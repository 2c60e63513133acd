"""Console benchmark (not a test): how fast the operator console's pages answer with a full
deployment's data behind them.

  python scripts/bench_console.py [--parties 10000] [--dead 1000] [--requests 50]

Seeds the EspoCRM simulator with N parties (5 % of them `failed`, so the attention page has
rows to list), the service database with a sync state per party and three audit entries per
party spread over the last 24 hours, and the embedded engine with D dead letters; then serves
the console (api role, as `bitbylaw run`) and times each page over real HTTP with a logged-in
session: p50, p95 and max of R sequential requests after a warm-up. Target: every page < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli import wiring  # noqa: E402
from cli.sandbox_cmds import SANDBOX_CONSOLE_PASSWORD, sandbox_settings  # noqa: E402
from config import Settings  # noqa: E402
from engine.backends.base import EnqueueRequest  # noqa: E402
from engine.backends.embedded import EmbeddedBackend  # noqa: E402
from services.db import AuditEntry, open_database  # noqa: E402
from simulators.runner import start_simulators  # noqa: E402

QUEUE = "vmh.beteiligte.sync_check::vmh-beteiligte-sync"
TARGET_MS = 200.0


async def seed_espocrm(session: aiohttp.ClientSession, url: str, parties: int) -> None:
    failed = parties // 20
    for status, count, betnr in (("clean", parties - failed, 500_000), ("failed", failed, None)):
        body = {"parties": count, "seed": 7 if betnr else 8, "status": status, "betnr_start": betnr}
        body.update(with_addresses=False, with_bank_accounts=False)
        async with session.post(f"{url}/_admin/seed", json=body) as r:
            r.raise_for_status()


async def seed_database(url: str, ids: list[str]) -> None:
    """A sync state per party and three audit entries each over the last 24 hours."""
    now = datetime.now(UTC)
    moment = [now]
    async with open_database(url, clock=lambda: moment[0]) as db:
        await db.migrate()
        await db.driver.run(lambda conn: conn.execute("PRAGMA synchronous=OFF"))  # setup only
        for i, entity_id in enumerate(ids):
            await db.save_snapshot(entity_id, 500_000 + i, {"fields": {"name": "x"}, "kind": "person"})
            for k, result in enumerate(("created", "noop", "failed" if i % 20 == 0 else "synced")):
                moment[0] = now - timedelta(hours=24 * ((i * 3 + k) % 997) / 997)
                entry = AuditEntry(
                    entity_type="CBeteiligte",
                    entity_id=entity_id,
                    action="sync_check",
                    result=result,
                    trace_id=f"{i:016x}{k:016x}",
                    trigger="vmh.beteiligte.sync_check",
                    decision={"to_advoware": ["name"], "changes": {"name": {"before": "a", "after": "b"}}},
                )
                await db.add_audit(entry)
            if i % 2000 == 0:
                print(f"  database: {i}/{len(ids)} parties", file=sys.stderr)


async def seed_dead_letters(path: Path, count: int, ids: list[str]) -> list[str]:
    backend = EmbeddedBackend(path)
    await backend.connect()
    try:
        await backend.enqueue(
            [EnqueueRequest(QUEUE, {"id": ids[i % len(ids)]}, f"dead-{i}") for i in range(count)]
        )
        fetched = await backend.fetch(QUEUE, count, 300.0, "bench")
        for job in fetched:
            await backend.dead_letter(job, "ServerError: espocrm GET CBeteiligte/{id}: HTTP 503")
        return [j.id for j in fetched]
    finally:
        await backend.close()


async def login(session: aiohttp.ClientSession, base: str) -> None:
    async with session.get(f"{base}/console/login") as r:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text())
    assert csrf is not None
    form = {"csrf": csrf[1], "password": SANDBOX_CONSOLE_PASSWORD}
    async with session.post(f"{base}/console/login", data=form, allow_redirects=False) as r:
        assert r.status == 303, r.status


async def timed(session: aiohttp.ClientSession, url: str, requests: int) -> list[float]:
    times = []
    for i in range(requests + 3):
        start = time.perf_counter()
        async with session.get(url, allow_redirects=False) as r:
            await r.read()
            assert r.status == 200, (url, r.status)
        if i >= 3:  # warm-up: the first requests open clients and fill caches
            times.append((time.perf_counter() - start) * 1000)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=10000)
    parser.add_argument("--dead", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        sims = await start_simulators()
        try:
            await run(sims, Path(tmp_dir), args)
        finally:
            await sims.stop()


async def run(sims: object, tmp: Path, args: argparse.Namespace) -> None:
    settings, _ = sandbox_settings(Settings(_env_file=None), sims, tmp)  # type: ignore[call-arg, arg-type]
    # As in bench_sync: the simulators answer in well under a millisecond, so no outbound
    # throttling (a record page makes one EspoCRM and one Advoware call; back to back, Advoware's
    # default 20 requests/s would space them 50 ms apart).
    unthrottled = {"advoware_max_requests_per_second": 1e5, "espocrm_max_requests_per_second": 1e5}
    quiet = {"console_cookie_secure": False, "log_level": "WARNING"}
    settings = settings.model_copy(update={**quiet, **unthrottled})
    async with aiohttp.ClientSession() as session:
        await seed_espocrm(session, sims.espocrm.url, args.parties)  # type: ignore[attr-defined]
        ids = sorted(sims.espocrm.runner.app["espocrm"].tables["CBeteiligte"])  # type: ignore[attr-defined]
        print(f"seeded {len(ids)} parties in EspoCRM", file=sys.stderr)
        await seed_database(settings.service_database_url(), ids)
        dead = await seed_dead_letters(settings.engine_db_file(), args.dead, ids)
        print(f"seeded {len(ids) * 3} audit entries, {len(dead)} dead letters", file=sys.stderr)
        engine = wiring.make_engine(settings, role="api", backend_kind="embedded", port=0)
        await engine.start()
        try:
            base = f"http://127.0.0.1:{engine.port}"
            # unsafe: keep cookies of an IP address (127.0.0.1), as a browser does
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
                await login(browser, base)
                pages = {
                    "overview": "/console",
                    "needs attention": "/console/attention",
                    "dead letters": "/console/dead",
                    "replay confirmation": f"/console/dead/replay?id={dead[-1]}",
                    "record (audit trail, both sides)": f"/console/records/CBeteiligte/{ids[len(ids) // 2]}",
                }
                print(f"{args.parties} parties, {len(dead)} dead letters, {args.requests} requests per page:")
                worst = 0.0
                for name, path in pages.items():
                    times = await timed(browser, base + path, args.requests)
                    p95 = statistics.quantiles(times, n=20)[-1]
                    worst = max(worst, p95)
                    print(
                        f"  {name:34} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  "
                        f"max {max(times):6.1f} ms"
                    )
                verdict = "within" if worst < TARGET_MS else "OVER"
                print(f"slowest p95 {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
        finally:
            await engine.stop()


if __name__ == "__main__":
    asyncio.run(main())
