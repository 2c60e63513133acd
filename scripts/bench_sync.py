"""Party sync benchmark (not a test): the real engine, steps and sync service in this process
against the simulators in a child process, over real HTTP.

  python scripts/bench_sync.py [--parties 10000] [--concurrency 4] [--latency-ms 0]

The simulators run in their own process, so this process's CPU time is the service's own cost
(engine, embedded backend, sync service, HTTP clients). `--latency-ms` makes every simulator
call wait that long before it is served (the simulators' `/_admin/faults` latency).

1. First sync: N parties seeded in EspoCRM as `pending_sync`, each with its e-mail and phone
   sets (2–4 entries) and 1–2 linked `CAdressen`, one sync_check job each, consumed with `--concurrency`
   concurrent jobs: every party, entry and address created in Advoware.
2. No-op pass: a sync_check for every (now clean, recently synced) party, as DECISIONS 11
   defines the no-op benchmark (writes must be 0).
3. Baseline, same run: the no-op pass's two reads per party (EspoCRM GET, Advoware GET) as bare
   aiohttp round trips, `--concurrency` parties at a time: what the simulators and HTTP alone cost.

Each pass prints wall time, parties/s, data calls per party (the simulators' counters, token
and notification calls excluded), the service's CPU ms per party (this process's CPU time) and
with latency the ratio of wall time to the latency floor (data calls × latency ÷ concurrency).
Progress goes to stderr every few seconds. A profile of the service side, sampled while it
holds the GIL: `py-spy record --gil -f raw -o profile.txt -- python scripts/bench_sync.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.sandbox_cmds import sandbox_values, write_settings_file  # noqa: E402
from config import Settings, load_settings  # noqa: E402
from engine.backends.embedded import EmbeddedBackend  # noqa: E402
from engine.context import Emit, Subscriptions, enqueue_emits  # noqa: E402
from engine.logs import configure_logging  # noqa: E402
from engine.registry import load_steps  # noqa: E402
from engine.runtime import Engine, EngineOptions, all_queues  # noqa: E402
from engine.triggers import QueueTrigger  # noqa: E402
from services.clients.advoware_auth import AdvowareCredentials, token_request_body  # noqa: E402
from services.clients.session import close_shared_session  # noqa: E402

SETTINGS_FILE = "bench.env"
NOT_DATA = ("Token", "Notification")  # routes that are no data calls
FIGURES_HELP = """\
passes: "first sync" (N pending_sync parties created in Advoware and linked), "no-op pass" (a
sync_check of every clean party; must write nothing), "bare round trips (baseline)" (the no-op
pass's two GETs per party with plain aiohttp, same concurrency, same run).

each line:
  s, parties/s            wall time of the pass (enqueue to empty queues)
  data calls per party    EspoCRM + Advoware calls counted by the simulators (token and
                          notification calls excluded), reads = GET, writes = the rest
  service CPU ms/party    this process's user + system CPU (engine, backend, sync service,
                          clients) divided by N; the simulators run in another process
  simulators' CPU         the simulators' process CPU per party (not the service's cost)
  x the latency floor     with --latency-ms: wall time / (data calls x latency / concurrency),
                          the time the injected latency alone takes; 1.00 is the ideal

example: python scripts/bench_sync.py --parties 2000 --concurrency 16 --latency-ms 50
"""


# -- the simulators' process -------------------------------------------------------------------
def serve_simulators(data_dir: str, conn: Connection) -> None:
    """Child process: the three simulators on free ports until the parent closes `conn`. Sends
    the path of the settings file a service talking to them needs (as the sandbox writes it),
    then answers each "cpu" message with its CPU seconds so far."""
    asyncio.run(_serve_simulators(Path(data_dir), conn))


async def _serve_simulators(data_dir: Path, conn: Connection) -> None:
    from simulators.runner import start_simulators

    logging.basicConfig(level=logging.WARNING)
    sims = await start_simulators()
    try:
        base = Settings(_env_file=None)  # type: ignore[call-arg]
        path = data_dir / SETTINGS_FILE
        write_settings_file(sandbox_values(base, sims, data_dir), path)
        conn.send(str(path))
        loop = asyncio.get_running_loop()
        with contextlib.suppress(EOFError):
            while await loop.run_in_executor(None, conn.recv) == "cpu":
                conn.send(time.process_time())
    finally:
        await sims.stop()


@dataclasses.dataclass
class SimulatorsProcess:
    settings_path: Path
    conn: Connection

    async def cpu_s(self) -> float:
        """The simulators' process CPU time so far."""
        self.conn.send("cpu")
        return float(await asyncio.get_running_loop().run_in_executor(None, self.conn.recv))


@contextlib.asynccontextmanager
async def simulators_process(data_dir: Path) -> AsyncIterator[SimulatorsProcess]:
    """Starts the simulators' process; stops it at the end."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=serve_simulators, args=(str(data_dir), theirs), daemon=True)
    proc.start()
    theirs.close()
    loop = asyncio.get_running_loop()
    try:
        if not await loop.run_in_executor(None, ours.poll, 60):
            raise RuntimeError("the simulators' process did not start within 60 s")
        try:
            path = Path(ours.recv())
        except EOFError:
            raise RuntimeError("the simulators' process failed to start (see its error above)") from None
        yield SimulatorsProcess(path, ours)
    finally:
        ours.close()  # the child's recv() ends: it stops its servers and exits
        await loop.run_in_executor(None, proc.join, 10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def service_settings(path: Path) -> Settings:
    settings = load_settings(path)
    # No outbound throttling in the bench: the figures are the service's own cost.
    unthrottled = {"advoware_max_requests_per_second": 1e5, "espocrm_max_requests_per_second": 1e5}
    return settings.model_copy(update=unthrottled)


# -- the simulators' admin API -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Sims:
    session: aiohttp.ClientSession
    espocrm: str  # base URLs (the admin API lives under /_admin)
    advoware: str

    @classmethod
    def of(cls, session: aiohttp.ClientSession, settings: Settings) -> Sims:
        host = settings.simulator_host
        return cls(
            session,
            f"http://{host}:{settings.simulator_espocrm_port}",
            f"http://{host}:{settings.simulator_advoware_port}",
        )

    async def post(self, url: str, what: str, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{url}/_admin/{what}", json=body) as r:
            r.raise_for_status()
            return await r.json()

    async def data_calls(self) -> dict[str, int]:
        """Reads and writes served so far by EspoCRM and Advoware, token and notification calls
        excluded."""
        out = {"read": 0, "write": 0}
        for url in (self.espocrm, self.advoware):
            async with self.session.get(f"{url}/_admin/calls") as r:
                body = await r.json()
            for c in body["calls"]:
                if not any(word in c["route"] for word in NOT_DATA):
                    out["read" if c["method"] == "GET" else "write"] += c["count"]
        return out

    async def set_latency(self, latency_ms: float) -> None:
        for url in (self.espocrm, self.advoware):
            await self.post(url, "faults", {"latency_ms": latency_ms})


async def seed(sims: Sims, parties: int) -> list[str]:
    """N parties in EspoCRM waiting for their first sync (with entries and addresses); their ids."""
    body = {
        "parties": parties,
        "seed": 1,
        "status": "pending_sync",
        "with_addresses": True,
        "with_bank_accounts": False,
    }
    answer = await sims.post(sims.espocrm, "seed", body)
    return list(answer["party_ids"])


# -- passes ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Figures:
    label: str
    parties: int
    wall_s: float
    user_s: float  # this process (the service): user and system CPU
    system_s: float
    sims_cpu_s: float  # the simulators' process
    reads: int
    writes: int

    def line(self, latency_ms: float, concurrency: int) -> str:
        n = self.parties
        calls = self.reads + self.writes
        per_party = (self.user_s + self.system_s) * 1000 / n
        text = (
            f"{self.label}: {n} parties: {self.wall_s:.1f} s ({n / self.wall_s:.0f} parties/s), "
            f"{calls / n:.2f} data calls per party ({self.reads} reads, {self.writes} writes); "
            f"service CPU {per_party:.2f} ms per party ({self.user_s * 1000 / n:.2f} user + "
            f"{self.system_s * 1000 / n:.2f} system); simulators' CPU {self.sims_cpu_s * 1000 / n:.2f} ms"
        )
        if latency_ms:
            floor = calls * latency_ms / 1000 / concurrency
            text += f"; {self.wall_s / floor:.2f} × the latency floor ({floor:.1f} s)"
        return text


async def measured(
    sims: Sims, process: SimulatorsProcess, label: str, n: int, work: Callable[[], Awaitable[None]]
) -> Figures:
    """Runs `work` and takes its figures: the simulators' call counters and both processes' CPU."""
    calls, sims_cpu = await sims.data_calls(), await process.cpu_s()
    usage, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    await work()
    wall = time.perf_counter() - wall
    done = resource.getrusage(resource.RUSAGE_SELF)
    calls_after, sims_cpu_after = await sims.data_calls(), await process.cpu_s()
    return Figures(
        label, n, wall, done.ru_utime - usage.ru_utime, done.ru_stime - usage.ru_stime,
        sims_cpu_after - sims_cpu, calls_after["read"] - calls["read"], calls_after["write"] - calls["write"],
    )  # fmt: skip


async def sync_pass(engine: Engine, ids: list[str], label: str) -> None:
    """One sync_check job per party, enqueued in batches; returns when every queue is empty."""
    subs = Subscriptions(engine.steps)
    for i in range(0, len(ids), 500):
        emits = [Emit("vmh.beteiligte.sync_check", {"id": x}) for x in ids[i : i + 500]]
        await enqueue_emits(engine.backend, subs, emits, f"bench-{label}")
    names = all_queues(engine.steps)
    last = time.perf_counter()
    while True:
        stats = await engine.backend.queue_stats(names)
        left = sum(s.depth + s.in_flight + s.delayed for s in stats)
        if left == 0:
            return
        if time.perf_counter() - last > 5:
            print(f"  {label}: {len(ids) - left}/{len(ids)} done", file=sys.stderr)
            last = time.perf_counter()
        await asyncio.sleep(0.1)


async def bare_round_trips(sims: Sims, settings: Settings, ids: list[str], concurrency: int) -> None:
    """Per party EspoCRM GET, then Advoware GET of its betnr, with plain aiohttp."""
    espo = {"X-Api-Key": settings.espocrm_api_key.get_secret_value()}
    creds = AdvowareCredentials(
        settings.advoware_app_id, settings.advoware_api_key, settings.advoware_kanzlei,
        settings.advoware_database, settings.advoware_user, settings.advoware_password,
    )  # fmt: skip
    async with sims.session.post(settings.advoware_token_url, json=token_request_body(creds)) as r:
        advo = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
    espo_url = f"{settings.espocrm_api_base_url.rstrip('/')}/CBeteiligte"
    advo_url = f"{settings.advoware_api_base_url.rstrip('/')}/api/v1/advonet/Beteiligte"
    todo = iter(ids)

    async def worker() -> None:
        for record_id in todo:
            async with sims.session.get(f"{espo_url}/{record_id}", headers=espo) as r:
                betnr = (await r.json())["betnr"]
            async with sims.session.get(f"{advo_url}/{betnr}", headers=advo) as r:
                r.raise_for_status()
                await r.read()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def sync_steps_with_concurrency(concurrency: int) -> list[Any]:
    steps = [s for s in load_steps([ROOT / "steps"]) if s.name == "vmh-beteiligte-sync"]
    for step in steps:
        step.triggers = [
            dataclasses.replace(t, config=dataclasses.replace(t.config, concurrency=concurrency))
            if isinstance(t, QueueTrigger)
            else t
            for t in step.triggers
        ]
    return steps


@contextlib.asynccontextmanager
async def running_engine(settings: Settings, concurrency: int) -> AsyncIterator[Engine]:
    options = EngineOptions(
        role="worker", resources={"settings": settings}, on_shutdown=[close_shared_session]
    )
    engine = Engine(
        EmbeddedBackend(settings.engine_db_file()), sync_steps_with_concurrency(concurrency), options
    )
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()
        db = options.resources.get("db")
        if db is not None:
            await db.close()


async def bench(args: argparse.Namespace, data_dir: Path) -> None:
    async with simulators_process(data_dir) as process, aiohttp.ClientSession() as session:
        settings = service_settings(process.settings_path)
        sims = Sims.of(session, settings)
        ids = await seed(sims, args.parties)
        await sims.set_latency(args.latency_ms)
        n, c = len(ids), args.concurrency
        async with running_engine(settings, c) as engine:
            results = []
            for label, work in (
                ("first sync", lambda: sync_pass(engine, ids, "first sync")),
                ("no-op pass", lambda: sync_pass(engine, ids, "no-op pass")),
                ("bare round trips (baseline)", lambda: bare_round_trips(sims, settings, ids, c)),
            ):
                figures = await measured(sims, process, label, n, work)
                print(figures.line(args.latency_ms, c), flush=True)
                results.append(figures)
        if results[1].writes:
            print(f"error: the no-op pass wrote {results[1].writes} times", file=sys.stderr)
            sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=FIGURES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--parties", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent sync jobs")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency of every simulator call")
    parser.add_argument(
        "--log-level", default="INFO", help="the service's LOG_LEVEL (its JSON log goes to --log-file)"
    )
    parser.add_argument("--log-file", type=Path, help="where the service's log goes (default: discarded)")
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile of the service's process to this file (pstats format)"
    )
    args = parser.parse_args()
    print(
        f"bench_sync: {args.parties} parties, {args.concurrency} concurrent jobs, "
        f"{args.latency_ms:g} ms latency per simulator call; load average {load()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp, open(args.log_file or os.devnull, "w") as log:
        configure_logging(args.log_level, log)  # the service logs as in production, to a file
        with profiled(args.profile):
            asyncio.run(bench(args, Path(tmp)))
    print(f"load average at the end {load()}")


@contextlib.contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """cProfile of this process (the service side) while the block runs, saved to `path`."""
    if path is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)
        print(f"profile written to {path} (python -m pstats {path})", file=sys.stderr)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
