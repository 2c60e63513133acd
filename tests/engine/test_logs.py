"""Log lines: the trace context on every line, stack traces once and without messages that may
hold personal data, W3C `traceparent` in and out."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import aiohttp
import pytest

from engine.logs import ContextFilter, JsonFormatter, exception_fields
from services.clients.errors import ServerError
from tracecontext import bound, outgoing_traceparent, trace_id_from_traceparent

pytestmark = pytest.mark.timeout(30)
TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
async def engine(example_engine):
    return await example_engine()


def test_a_bound_context_reaches_every_logger_and_ends_with_its_block(captured):
    with bound(trace_id=TRACE, entity_id="abc", unset=None):
        logging.getLogger("any.library").warning("inside")
    logging.getLogger("any.library").warning("outside")
    inside, outside = captured()
    assert (inside["trace_id"], inside["entity_id"]) == (TRACE, "abc") and "unset" not in inside
    assert "trace_id" not in outside


def test_an_exception_is_logged_with_its_stack_but_its_message_only_when_safe():
    def fail(text: str) -> None:
        raise ValueError(text)

    try:
        fail("Erika Mustermann, born 05.01.1980")
    except ValueError as exc:
        fields = exception_fields(exc)
    assert fields["error_type"] == "ValueError" and "error" not in fields
    assert fields["stack"][-1].endswith(" in fail") and "engine/test_logs.py:" in fields["stack"][-1]
    assert "Erika" not in json.dumps(fields)
    safe = exception_fields(ServerError("espocrm", "GET", "CBeteiligte/{id}", 503))
    assert safe["error"] == "espocrm GET CBeteiligte/{id}: HTTP 503"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"00-{TRACE}-b7ad6b7169203331-01", TRACE),
        (f"00-{TRACE.upper()}-b7ad6b7169203331-00", TRACE),
        (f"00-{'0' * 32}-b7ad6b7169203331-01", None),  # all-zero trace id is invalid
        (f"00-{TRACE}-{'0' * 16}-01", None),
        (f"ff-{TRACE}-b7ad6b7169203331-01", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_traceparent_parsing(header, expected):
    assert trace_id_from_traceparent(header) == expected


def test_outgoing_traceparent_continues_the_bound_trace_with_a_new_span():
    assert outgoing_traceparent() is None
    with bound(trace_id=TRACE):
        first, second = outgoing_traceparent(), outgoing_traceparent()
    assert first is not None and second is not None
    assert first.startswith(f"00-{TRACE}-") and first.endswith("-01") and first != second
    with bound(trace_id="not-w3c"):
        assert outgoing_traceparent() is None


async def test_a_crashing_http_handler_logs_its_stack_once_under_the_callers_trace(engine, captured):
    async with aiohttp.ClientSession() as session:
        headers = {"traceparent": f"00-{TRACE}-b7ad6b7169203331-01"}
        async with session.get(f"http://127.0.0.1:{engine.port}/boom", headers=headers) as r:
            assert r.status == 500 and TRACE in (await r.json())["detail"]
    stacks = [line for line in captured() if "stack" in line]
    assert len(stacks) == 1
    (line,) = stacks
    assert (
        line["trace_id"] == TRACE
        and line["step"] == "example-http-misc"
        and line["error_type"] == "RuntimeError"
    )
    assert any("http_misc_step.py" in frame for frame in line["stack"])
    assert "secret detail" not in json.dumps(captured())


async def test_a_failing_job_logs_each_failure_once_with_stack_trace_and_record_id(engine, captured):
    async with aiohttp.ClientSession() as session:
        body = {"items": [{"n": 7, "topic": "demo.flaky"}]}
        async with session.post(f"http://127.0.0.1:{engine.port}/ingest", json=body) as r:
            trace = r.headers["X-Trace-Id"]
    for _ in range(200):
        if any(line["msg"] == "job dead-lettered" for line in captured()):
            break
        await asyncio.sleep(0.05)
    failures = [line for line in captured() if line["msg"] in ("job failed, will retry", "job dead-lettered")]
    assert [line["msg"] for line in failures] == ["job failed, will retry"] * 3 + ["job dead-lettered"]
    assert all(line["trace_id"] == trace and line["step"] == "example-flaky" for line in failures)
    assert all(len(line["stack"]) >= 1 and "flaky_step.py" in line["stack"][-1] for line in failures)
    assert "failed on purpose" not in json.dumps(captured())  # the message is withheld


@pytest.mark.parametrize("expect100", [False, True])
async def test_the_auth_check_and_its_refusal_carry_the_callers_trace(engine, captured, expect100):
    """Also when the check runs early, for a client waiting on `Expect: 100-continue`."""
    headers = {"traceparent": f"00-{TRACE}-b7ad6b7169203331-01"}
    url = f"http://127.0.0.1:{engine.port}/keyed"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"n": 1}, headers=headers, expect100=expect100) as r:
            assert r.status == 401 and r.headers["X-Trace-Id"] == TRACE
        async with session.post(
            url, data=b"[" * 100, headers={**headers, "X-Key": "k1", "Content-Type": "application/json"}
        ) as r:
            assert r.status == 400 and r.headers["X-Trace-Id"] == TRACE  # hostile JSON, after the key
    checks = [line for line in captured() if line["msg"] == "key checked"]
    assert len(checks) >= 2
    assert all(line["trace_id"] == TRACE and line["step"] == "example-auth" for line in checks), checks


async def test_a_crashing_auth_check_logs_its_stack_once_under_the_callers_trace(engine, captured):
    async with aiohttp.ClientSession() as session:
        headers = {"traceparent": f"00-{TRACE}-b7ad6b7169203331-01"}
        async with session.get(f"http://127.0.0.1:{engine.port}/broken-auth", headers=headers) as r:
            assert r.status == 500 and r.headers["X-Trace-Id"] == TRACE
    (line,) = [line for line in captured() if "stack" in line]
    assert (
        line["trace_id"] == TRACE and line["step"] == "example-auth" and line["error_type"] == "RuntimeError"
    )
    assert any("auth_step.py" in frame and "_crashes" in frame for frame in line["stack"])
    assert "secret detail" not in json.dumps(captured())
