"""Party sync benchmark (not a test): the real engine, steps and sync service against the
simulators over real HTTP.

  python scripts/bench_sync.py [--parties 10000] [--concurrency 4]

1. First sync: N parties seeded in EspoCRM as `pending_sync` — each with its e-mail and phone
   sets (2–5 items) and 1–2 linked `CAdressen` — one sync_check job each, consumed with
   `--concurrency` concurrent jobs: every party, entry and address created in Advoware. Prints
   time, parties/s and data calls per party.
2. No-op pass: a sync_check for every (now clean, recently synced) party, as DECISIONS 11
   defines the no-op benchmark. Prints time, reads and writes (writes must be 0).
Progress goes to stderr every few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.sandbox_cmds import sandbox_settings  # noqa: E402
from config import Settings  # noqa: E402
from engine.backends.embedded import EmbeddedBackend  # noqa: E402
from engine.context import Emit, Subscriptions, enqueue_emits  # noqa: E402
from engine.registry import load_steps  # noqa: E402
from engine.runtime import Engine, EngineOptions, all_queues  # noqa: E402
from engine.triggers import QueueTrigger  # noqa: E402
from services.clients.session import close_shared_session  # noqa: E402
from simulators.runner import Simulators, start_simulators  # noqa: E402


def service_settings(sims: Simulators, tmp: Path) -> Settings:
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    settings, _ = sandbox_settings(base, sims, tmp)
    # The simulators answer in well under a millisecond: no outbound throttling in the bench.
    unthrottled = {"advoware_max_requests_per_second": 1e5, "espocrm_max_requests_per_second": 1e5}
    return settings.model_copy(update=unthrottled)


async def calls(session: aiohttp.ClientSession, url: str) -> dict[str, int]:
    async with session.get(f"{url}/_admin/calls") as r:
        body = await r.json()
    out = {"read": 0, "write": 0}
    for c in body["calls"]:
        if "Token" in c["route"] or "Notification" in c["route"]:
            continue
        out["read" if c["method"] == "GET" else "write"] += c["count"]
    return out


async def run_pass(engine: Engine, ids: list[str], label: str) -> float:
    subs = Subscriptions(engine.steps)
    start = time.perf_counter()
    for i in range(0, len(ids), 500):
        emits = [Emit("vmh.beteiligte.sync_check", {"id": x}) for x in ids[i : i + 500]]
        await enqueue_emits(engine.backend, subs, emits, f"bench-{label}")
    names = all_queues(engine.steps)
    last = 0.0
    while True:
        stats = await engine.backend.queue_stats(names)
        left = sum(s.depth + s.in_flight + s.delayed for s in stats)
        if left == 0:
            return time.perf_counter() - start
        if time.perf_counter() - last > 5:
            print(f"  {label}: {len(ids) - left}/{len(ids)} done", file=sys.stderr)
            last = time.perf_counter()
        await asyncio.sleep(0.1)


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        sims = await start_simulators()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(
                    f"{sims.espocrm.url}/_admin/seed",
                    json={
                        "parties": args.parties,
                        "seed": 1,
                        "status": "pending_sync",
                        "with_addresses": True,
                        "with_bank_accounts": False,
                    },
                ) as r:
                    r.raise_for_status()
                    seeded = await r.json()
                ids = sorted(sims.espocrm.runner.app["espocrm"].tables["CBeteiligte"])  # type: ignore[union-attr]
                settings = service_settings(sims, tmp)
                options = EngineOptions(
                    role="worker",
                    poll_block=0.05,
                    resources={"settings": settings},
                    on_shutdown=[close_shared_session],
                )
                engine = Engine(
                    EmbeddedBackend(settings.engine_db_file()),
                    sync_steps_with_concurrency(args.concurrency),
                    options,
                )
                await engine.start()
                try:
                    print(f"seeded: {describe_seed(sims, seeded)}")
                    await report(session, sims, engine, ids, args)
                finally:
                    await engine.stop()
                    db = options.resources.get("db")
                    if db is not None:
                        await db.close()
        finally:
            await sims.stop()


def describe_seed(sims: Simulators, seeded: dict[str, Any]) -> str:
    parties = sims.espocrm.runner.app["espocrm"].tables["CBeteiligte"].values()  # type: ignore[union-attr]
    entries = sum(len(p.get("emailAddressData") or []) + len(p.get("phoneNumberData") or []) for p in parties)
    n = max(1, seeded["parties"])
    return (
        f"{seeded['parties']} parties, {entries} e-mail/phone items ({entries / n:.2f} per party), "
        f"{seeded['addresses']} addresses ({seeded['addresses'] / n:.2f} per party)"
    )


async def report(
    session: aiohttp.ClientSession, sims: Simulators, engine: Engine, ids: list[str], args: argparse.Namespace
) -> None:
    n = len(ids)
    a0, e0 = await calls(session, sims.advoware.url), await calls(session, sims.espocrm.url)
    first = await run_pass(engine, ids, "first sync")
    a1, e1 = await calls(session, sims.advoware.url), await calls(session, sims.espocrm.url)
    per_party = (sum(a1.values()) + sum(e1.values()) - sum(a0.values()) - sum(e0.values())) / n
    print(
        f"first sync: {n} parties, {args.concurrency} concurrent jobs: {first:.1f} s "
        f"({n / first:.0f} parties/s), {per_party:.2f} data calls per party "
        f"(Advoware {a1['write'] - a0['write']} writes, EspoCRM {e1['write'] - e0['write']} writes)"
    )
    noop = await run_pass(engine, ids, "no-op pass")
    a2, e2 = await calls(session, sims.advoware.url), await calls(session, sims.espocrm.url)
    reads = a2["read"] - a1["read"] + e2["read"] - e1["read"]
    writes = a2["write"] - a1["write"] + e2["write"] - e1["write"]
    print(
        f"no-op pass: {n} clean parties: {noop:.1f} s ({n / noop:.0f} parties/s), "
        f"{reads} reads ({reads / n:.2f} per party), {writes} writes"
    )


if __name__ == "__main__":
    asyncio.run(main())
