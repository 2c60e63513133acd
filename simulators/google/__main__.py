"""Run the simulator on its own: `python -m simulators.google --port 8093 [--snapshot PATH]
[--seed SB,AI]`. The API is then at `http://HOST:PORT/calendar/v3`, tokens at `/token`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from simulators.common.server import start_app
from simulators.google.app import build_google_app
from simulators.google.config import GoogleSimConfig
from simulators.google.seed import seed
from simulators.google.state import GoogleState


async def _serve(args: argparse.Namespace) -> None:
    config = GoogleSimConfig(snapshot_path=Path(args.snapshot) if args.snapshot else None)
    app = build_google_app(config)
    if args.seed:
        state: GoogleState = app["google"]
        seed(state, {"calendars": args.seed.split(","), "events_per_calendar": args.events})
    running = await start_app(app, args.host, args.port)
    print(f"Google Calendar simulator at {running.url}/calendar/v3", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--snapshot", help="JSON file loaded at start and written at shutdown")
    parser.add_argument("--seed", help="comma-separated Kürzel to seed calendars for")
    parser.add_argument("--events", type=int, default=12, help="events per seeded calendar")
    try:
        asyncio.run(_serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
