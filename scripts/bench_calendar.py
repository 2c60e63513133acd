"""Calendar sync benchmark (not a test): the real calendar service (as `bitbylaw sync calendar`
builds it) against the simulators over real HTTP.

  python scripts/bench_calendar.py [--employees 20] [--appointments 500] [--concurrency 4]
                                   [--google-rate R]

1. First sync: the Advoware simulator seeded with active employees and their appointments (every
   kind: timed, all-day, multi-day, series, DST), each employee's calendar filled, `--concurrency`
   employees at a time (as the employee queue runs them), all sharing the one Google rate limit
   (GOOGLE_MAX_REQUESTS_PER_SECOND, or `--google-rate`). Prints time, Google data calls and the
   ratio of the time to the quota floor (calls ÷ rate limit; target ≤ 1.1 ×).
2. No-op pass: every employee again; prints data calls per employee (budget: 1 Google + 1
   Advoware) and writes (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.calendar_cmds import calendar_service  # noqa: E402
from cli.sandbox_cmds import sandbox_settings  # noqa: E402
from config import Settings  # noqa: E402
from engine.context import new_trace_id  # noqa: E402
from simulators.runner import Simulators, start_simulators  # noqa: E402

WRITES = ("POST", "PUT", "PATCH", "DELETE")


async def data_calls(session: aiohttp.ClientSession, url: str) -> dict[str, int]:
    async with session.get(f"{url}/_admin/calls") as r:
        body = await r.json()
    out = {"read": 0, "write": 0}
    for c in body["calls"]:
        if "token" in c["route"].lower() or "Notification" in c["route"]:
            continue
        out["write" if c["method"] in WRITES else "read"] += c["count"]
    return out


async def seed(session: aiohttp.ClientSession, sims: Simulators, employees: int, appointments: int) -> None:
    # Every fifth seeded employee has left the firm: seed enough for `employees` active ones.
    body = {"parties": 0, "employees": employees + employees // 4, "appointments_per_employee": appointments}
    async with session.post(f"{sims.advoware.url}/_admin/seed", json={**body, "seed": 1}) as r:
        r.raise_for_status()
    async with session.get(f"{sims.advoware.url}/_admin/state") as r:
        emails = [e["email"] for e in (await r.json())["employees"] if e.get("email")]
    async with session.post(f"{sims.google.url}/_admin/users", json={"users": emails}) as r:
        r.raise_for_status()


async def run_pass(
    service: Any, employees: list[Any], concurrency: int, label: str
) -> tuple[float, list[Any]]:
    """Each employee's run as the all-run's jobs make it (the employee from its one listing)."""
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(employee: Any) -> Any:
        nonlocal done
        async with gate:
            outcome = await service.sync_employee(
                employee.kuerzel, trigger="bench", trace_id=new_trace_id(), employee=employee
            )
        done += 1
        print(
            f"  {label}: {done}/{len(employees)} employees ({outcome.kuerzel}: {outcome.status})",
            file=sys.stderr,
        )
        return outcome

    start = time.perf_counter()
    outcomes = await asyncio.gather(*(one(e) for e in employees))
    return time.perf_counter() - start, list(outcomes)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=20)
    parser.add_argument("--appointments", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--google-rate", type=float, default=None, help="requests/s (default: the setting)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        sims = await start_simulators(google_key_file=tmp / "google-key.json")
        try:
            async with aiohttp.ClientSession() as session:
                await seed(session, sims, args.employees, args.appointments)
                settings, _ = sandbox_settings(Settings(_env_file=None), sims, tmp)  # type: ignore[call-arg]
                update: dict[str, Any] = {
                    "advoware_max_requests_per_second": 1e5,
                    "calendar_mass_change_max_events": 10**6,
                }
                if args.google_rate:
                    update["google_max_requests_per_second"] = args.google_rate
                settings = settings.model_copy(update=update)
                rate = settings.google_max_requests_per_second
                async with calendar_service(settings) as service:
                    kuerzel = (await service.employees())[: args.employees]
                    before = await data_calls(session, sims.google.url)
                    elapsed, outcomes = await run_pass(service, kuerzel, args.concurrency, "first sync")
                    after = await data_calls(session, sims.google.url)
                    calls = after["read"] + after["write"] - before["read"] - before["write"]
                    floor = calls / rate
                    statuses = sorted({o.status for o in outcomes})
                    print(
                        f"first sync: {len(kuerzel)} employees x {args.appointments} appointments in "
                        f"{elapsed:.1f} s; {calls} Google data calls ({after['write'] - before['write']} "
                        f"writes) at {rate:g}/s: quota floor {floor:.1f} s, ratio {elapsed / floor:.2f} x; "
                        f"statuses {statuses}"
                    )
                    g0, a0 = after, await data_calls(session, sims.advoware.url)
                    elapsed, outcomes = await run_pass(service, kuerzel, args.concurrency, "no-op pass")
                    g1, a1 = (
                        await data_calls(session, sims.google.url),
                        await data_calls(session, sims.advoware.url),
                    )
                    n = len(kuerzel)
                    google, advoware = (g1["read"] - g0["read"]) / n, (a1["read"] - a0["read"]) / n
                    print(
                        f"no-op pass: {elapsed:.1f} s; per employee {google:.2f} Google + "
                        f"{advoware:.2f} Advoware data calls; writes "
                        f"{g1['write'] - g0['write'] + a1['write'] - a0['write']}; "
                        f"statuses {sorted({o.status for o in outcomes})}"
                    )
        finally:
            await sims.stop()


if __name__ == "__main__":
    asyncio.run(main())
