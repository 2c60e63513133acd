"""Start and stop simulator apps on a host/port (port 0 = a free one), for the CLI, the sandbox,
tests and benchmarks alike."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass
class RunningApp:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_app(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> RunningApp:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:  # a busy port: the app's start-up hooks ran, so clean them up
        await runner.cleanup()
        raise
    sockets = getattr(site._server, "sockets", None)
    bound_port = sockets[0].getsockname()[1] if sockets else port
    return RunningApp(runner, host, bound_port)
