"""The trace context of the job, request or cron tick being handled, in a context variable.

The engine binds `trace_id` (and the step, the job id and the record id) around every handler
run; the JSON log formatter adds the bound fields to every log line written meanwhile, by any
logger — the engine's, the sync services', the HTTP clients' — and tasks started inside inherit
them. The HTTP clients send the trace id on as a W3C `traceparent` header. A module of its own,
beside `config.py`, because both `engine/` and `services/` use it and neither may import the
other. Bound values are ids only: never names, e-mail addresses or other personal data.
"""

from __future__ import annotations

import contextvars
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_FIELDS: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "bitbylaw_trace_context", default=_EMPTY
)
# version 00: 2-hex version, 32-hex trace id, 16-hex parent id, 2-hex flags (W3C Trace Context).
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add `fields` to the context for the duration of the block (None values are left out)."""
    token = _FIELDS.set({**_FIELDS.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _FIELDS.reset(token)


def current() -> Mapping[str, Any]:
    return _FIELDS.get()


def trace_id_from_traceparent(header: str | None) -> str | None:
    """The trace id of a valid W3C `traceparent` header, else None (an invalid header is
    ignored, as the spec asks: the request gets a trace of its own)."""
    match = _TRACEPARENT.match((header or "").strip().lower())
    if match is None or match[1] == "ff" or set(match[2]) == {"0"} or set(match[3]) == {"0"}:
        return None
    return match[2]


def outgoing_traceparent() -> str | None:
    """A `traceparent` for an outgoing call made in this context: the bound trace id, a new
    span id, sampled. None outside a trace or when the trace id is not W3C-shaped."""
    trace_id = _FIELDS.get().get("trace_id")
    if not isinstance(trace_id, str) or not _TRACE_ID.match(trace_id):
        return None
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"
