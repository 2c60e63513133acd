"""Bounded time and connections at the edge (DECISIONS 49), over raw sockets: a slow head, a slow
or short body and an idle connection are each closed at their deadline (408 where a status can
still be sent); the connection cap holds while `/health` still answers; aiohttp's own protocol
errors are JSON. Only lower bounds are timed tightly (a timer never fires early); upper bounds
are generous, so load on the machine cannot make these flaky."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest

from engine.http_limits import LINGER_SECONDS, EdgeLimits

SLACK = 10.0  # generous upper bound on top of a deadline
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def start(example_engine):
    return lambda **limits: example_engine(limits=EdgeLimits(**limits))


class Conn:
    """One raw client connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, timeout: float) -> tuple[int, dict]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")
        )
        return status, json.loads(await asyncio.wait_for(self.reader.readexactly(length), timeout))

    async def closed_within(self, timeout: float) -> bool:
        """True when the server closes the connection (EOF or reset) within `timeout`."""
        try:
            while await asyncio.wait_for(self.reader.read(4096), timeout):
                pass
        except TimeoutError:
            return False
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.writer.close()


async def trickle(conn: Conn, data: bytes, every: float, stop: asyncio.Event) -> None:
    for i in range(len(data)):
        if stop.is_set():
            return
        with contextlib.suppress(ConnectionError):
            await conn.send(data[i : i + 1])
        await asyncio.sleep(every)


async def health(port: int) -> int:
    conn = await Conn.open(port)
    try:
        await conn.send(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, body = await conn.response(SLACK)
        assert body["status"] == "ok"
        return status
    finally:
        conn.close()


async def test_slow_head_gets_408_at_the_head_deadline(start):
    engine = await start(head_timeout=1.0, keepalive_timeout=30)
    conn = await Conn.open(engine.port)
    stop = asyncio.Event()
    t0 = time.monotonic()
    sender = asyncio.create_task(
        trickle(conn, b"POST /ingest HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 500, 0.1, stop)
    )
    status, body = await conn.response(1.0 + SLACK)
    elapsed = time.monotonic() - t0
    stop.set()
    await sender
    assert status == 408 and body["error"] == "request_timeout" and "head" in body["detail"]
    assert elapsed >= 0.9
    assert await conn.closed_within(SLACK)
    conn.close()


@pytest.mark.parametrize("trickling", [True, False], ids=["slow-body", "short-body"])
async def test_slow_or_short_body_gets_408_at_the_body_deadline(start, trickling):
    engine = await start(body_timeout=1.0, keepalive_timeout=30)
    conn = await Conn.open(engine.port)
    await conn.send(
        b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    )
    stop = asyncio.Event()
    t0 = time.monotonic()
    if trickling:
        sender = asyncio.create_task(trickle(conn, b'{"items": [' + b" " * 380, 0.1, stop))
    else:
        await conn.send(b'{"items": [')  # a body shorter than its Content-Length, then nothing
    status, body = await conn.response(1.0 + SLACK)
    elapsed = time.monotonic() - t0
    stop.set()
    if trickling:
        await sender
    assert status == 408 and body["error"] == "request_timeout" and "body" in body["detail"]
    assert elapsed >= 0.9
    assert await conn.closed_within(LINGER_SECONDS + SLACK)
    conn.close()


async def test_idle_connections_are_closed_at_the_keepalive_timeout(start):
    engine = await start(keepalive_timeout=1.0)
    silent = await Conn.open(engine.port)  # sends nothing at all
    used = await Conn.open(engine.port)  # one request, then idle
    t0 = time.monotonic()
    await used.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await used.response(SLACK))[0] == 200
    assert await silent.closed_within(1.0 + SLACK) and await used.closed_within(1.0 + SLACK)
    assert time.monotonic() - t0 >= 0.9
    silent.close()
    used.close()


async def test_connection_cap_holds_while_health_still_answers(start):
    """Idle and trickling connections fill the cap; a new connection closes the least recently
    active of them, so `/health` is answered and the cap is never exceeded."""
    cap = 6
    engine = await start(max_connections=cap, keepalive_timeout=60, head_timeout=60)
    server = engine._runner.server
    stop = asyncio.Event()
    hogs = [await Conn.open(engine.port) for _ in range(cap)]
    senders = [
        asyncio.create_task(trickle(c, b"GET /health HTTP/1.1\r\nX: " + b"a" * 200, 0.2, stop))
        for c in hogs[:3]
    ]
    await asyncio.sleep(0.3)
    assert len(server.open) == cap
    for _ in range(3):
        assert await health(engine.port) == 200
        assert len(server.open) <= cap
    more = [await Conn.open(engine.port) for _ in range(3 * cap)]  # a flood beyond the cap
    await asyncio.sleep(0.3)
    assert len(server.open) <= cap
    assert await health(engine.port) == 200
    closed = [await c.closed_within(0.5) for c in hogs + more]
    assert sum(not c for c in closed) <= cap  # at most `cap` client connections are still open
    stop.set()
    await asyncio.gather(*senders)
    for c in hogs + more:
        c.close()


async def test_over_the_cap_with_every_connection_busy_is_503_at_once(start):
    engine = await start(max_connections=2, keepalive_timeout=60, body_timeout=30)
    busy = [await Conn.open(engine.port) for _ in range(2)]
    for c in busy:  # a request in progress each: the head is in, the body is awaited
        await c.send(
            b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
        )
    await asyncio.sleep(0.3)
    late = await Conn.open(engine.port)
    status, body = await late.response(SLACK)
    assert status == 503 and body["error"] == "too_many_connections"
    assert await late.closed_within(SLACK)
    for c in [*busy, late]:
        c.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 10000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
        b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ],
)
async def test_malformed_requests_get_a_json_400(start, raw):
    engine = await start()
    conn = await Conn.open(engine.port)
    await conn.send(raw)
    status, body = await conn.response(SLACK)
    assert status == 400 and body["error"] == "bad_request" and set(body) == {"error", "detail"}
    conn.close()
