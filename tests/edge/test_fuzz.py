"""Fuzzing the live edge with hypothesis-generated requests on every endpoint (raw sockets, so
methods, framing, headers and bodies can be anything a client can send): never a 5xx, never a
hang, and a request the edge refuses enqueues nothing and forwards nothing to Advoware."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.edge.conftest import SANDBOX_PROXY_KEY, espocrm_signature
from tests.steps.test_advoware_proxy import HOSTILE_PATHS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ANSWER_WITHIN = 15.0  # seconds; the body deadline of the live service is 1 s

ROUTES = [
    ("POST", "/vmh/webhook/beteiligte/create"),
    ("POST", "/vmh/webhook/beteiligte/update"),
    ("POST", "/vmh/webhook/beteiligte/delete"),
    ("GET", "/advoware/proxy"),
    ("POST", "/advoware/proxy"),
    ("PUT", "/advoware/proxy"),
    ("DELETE", "/advoware/proxy"),
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "FOO"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**120), max_value=10**120)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
webhook_items = st.lists(
    st.fixed_dictionaries(
        {"id": st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True) | st.text(max_size=70)},
        optional={"name": st.text(max_size=20), "n": json_values},
    ),
    max_size=5,
)
hostile_bodies = st.sampled_from(
    [
        b"[" * 1200 + b"]" * 1200,
        b"[" * 70 + b"]" * 70,
        b'{"a": NaN}',
        b"[Infinity, -Infinity]",
        b"[1e999]",
        b"[" + b"7" * 5000 + b"]",
        b'{"a": "\\ud800"}',
        b"\xff\xfe\x00",
        b"{",
        b"",
        b"null",
    ]
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    webhook_items.map(lambda v: json.dumps(v).encode()),
    hostile_bodies,
    st.binary(max_size=200),
)
proxy_paths = st.one_of(
    st.sampled_from(HOSTILE_PATHS),
    st.sampled_from(["api/v1/advonet/Mitarbeiter", "api/v1/advonet/Beteiligte/100001", "api/v1/Token"]),
    st.text(max_size=40).map(lambda t: "api/v1/advonet/" + t),
    st.text(max_size=40),
)
header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@dataclass
class Fuzzed:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    framing: str  # "length", "none", "short", "chunked"

    def encode(self) -> bytes:
        headers = {"Host": "edge", "Connection": "close", **self.headers}
        body = self.body
        if self.framing == "length":
            headers["Content-Length"] = str(len(body))
        elif self.framing == "short":  # announces more than it sends: the body deadline ends it
            headers["Content-Length"] = str(len(body) + 10)
        elif self.framing == "chunked":
            headers["Transfer-Encoding"] = "chunked"
            body = (f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n") if body else b"0\r\n\r\n"
        else:
            body = b""
        head = f"{self.method} {self.target} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        return head.encode("latin-1") + b"\r\n" + body


@st.composite
def requests(draw: st.DrawFn) -> Fuzzed:
    method, path = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(METHODS))
    if draw(st.integers(0, 19)) == 0:
        path = "/" + quote(draw(st.text(max_size=20)))
    target = path
    if path == "/advoware/proxy" and draw(st.integers(0, 9)):
        name = draw(st.sampled_from(["path", "endpoint"]))
        target += f"?{name}={quote(draw(proxy_paths), safe='')}"
        if draw(st.booleans()):
            target += "&raw=1"
    body = draw(bodies)
    headers: dict[str, str] = {}
    content_type = draw(
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None])
    )
    if content_type:
        headers["Content-Type"] = content_type
    key = draw(st.sampled_from([SANDBOX_PROXY_KEY, "wrong", "", None]))
    if key is not None:
        name = draw(st.sampled_from(["X-API-Key", "apikey", "Authorization"]))
        headers[name] = f"Bearer {key}" if name == "Authorization" else key
    signature = draw(st.sampled_from(["valid", "garbage", "other-body", None]))
    if signature == "valid":
        headers["Signature"] = espocrm_signature(body)
    elif signature == "other-body":
        headers[draw(st.sampled_from(["Signature", "X-Signature"]))] = espocrm_signature(body + b"x")
    elif signature == "garbage":
        headers["X-Signature"] = draw(header_value)
    extra = draw(
        st.dictionaries(st.from_regex(r"X-[A-Za-z0-9-]{1,12}", fullmatch=True), header_value, max_size=3)
    )
    if draw(st.integers(0, 9)) == 0:
        headers["Expect"] = draw(st.sampled_from(["100-continue", "100-Continue", "nonsense"]))
    framing = draw(st.sampled_from(["length", "length", "length", "none", "short", "chunked"]))
    return Fuzzed(method, target, {**extra, **headers}, body, framing)


def exchange(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send one request, read one response (status, body); fails on a hang."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed without an answer: {data!r}"
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            if status != 100:  # `Expect: 100-continue`: the final answer follows
                break
            data = body
        lengths = [
            int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")
        ]
        want = lengths[0] if lengths else 0
        while len(body) < want and not raw.startswith(b"HEAD "):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, body


def refused_by_the_edge(status: int, body: bytes) -> bool:
    """A 4xx in the edge's own `{"error", "detail"}` shape (a proxied Advoware 4xx is `{"result"}`)."""
    if not 400 <= status < 500:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and set(answer) == {"error", "detail"}


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
def test_fuzzed_requests_never_5xx_never_hang_and_refusals_change_nothing(live_service, request):
    queued, forwarded = live_service.queued(), live_service.advoware_calls()
    status, body = exchange(live_service.port, request.encode())
    event(f"{request.method} {request.target.split('?')[0]} -> {status}")  # --hypothesis-show-statistics
    assert status < 500, (status, body[:300])
    if refused_by_the_edge(status, body):
        assert live_service.queued() == queued, "a refused request enqueued a job"
        assert live_service.advoware_calls() == forwarded, "a refused request reached Advoware"
