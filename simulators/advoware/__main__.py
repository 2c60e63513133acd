"""Run the Advoware simulator on its own: `python -m simulators.advoware --port 8082
[--snapshot data/advoware.json] [--seed-parties 50 --seed-employees 3]`. The sandbox CLI
normally starts it; this entry point is for trying the simulator by hand."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from simulators.advoware.app import build_advoware_app
from simulators.advoware.config import AdvowareSimConfig
from simulators.advoware.seed import seed_state
from simulators.advoware.state import AdvowareState
from simulators.common.server import start_app


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulators.advoware", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--snapshot", type=Path, default=None, help="JSON file to load and save state")
    parser.add_argument("--seed-parties", type=int, default=0)
    parser.add_argument("--seed-employees", type=int, default=0)
    parser.add_argument("--seed-appointments", type=int, default=10, help="per employee")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    app = build_advoware_app(AdvowareSimConfig(snapshot_path=args.snapshot))
    state: AdvowareState = app["advoware"]
    if args.seed_parties or args.seed_employees:
        body = {
            "parties": args.seed_parties,
            "employees": args.seed_employees,
            "appointments_per_employee": args.seed_appointments,
            "seed": args.seed,
        }
        print("seeded:", seed_state(state, body))
    running = await start_app(app, args.host, args.port)
    print(f"Advoware simulator on {running.url}/ (admin: {running.url}/_admin/state)")
    stop = asyncio.Event()
    # SIGTERM (a supervisor stopping the sandbox) must still run on_cleanup, which saves state.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await running.stop()


def main() -> None:
    try:
        asyncio.run(_serve(_parse()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
