"""The step contract (Motia III style): trigger helpers and the HTTP request/response types.

A step file `*_step.py` has a module-level `config` dict and an `async def handler(input, ctx)`:

    config = {
        "name": "vmh-beteiligte-webhook",
        "description": "EspoCRM webhooks for CBeteiligte",
        "flows": ["vmh"],
        "triggers": [http("POST", "/vmh/webhook/beteiligte/create", body=Payload, auth=SIGNED)],
        "enqueues": ["vmh.beteiligte.create"],
    }

One step may carry several triggers; `ctx.trigger` tells which one fired. An http trigger may
declare its query model, its answers (`responses`, for the OpenAPI document) and how callers
authenticate (`auth`): the engine checks the caller before it parses anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class QueueConfig:
    """Per-subscription consumption settings.

    `max_retries` counts retries after the first attempt: 3 means up to 4 runs, then the dead
    letter list. The retry delay is `backoff_base * 2 ** (attempt - 1)`, capped at `backoff_max`.
    `visibility_timeout` is how long a delivered job stays leased before another worker may take
    it (the engine renews the lease while the handler runs); None = the engine's default."""

    concurrency: int = 10
    timeout: float = 60.0
    max_retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    visibility_timeout: float | None = None


@dataclass(frozen=True)
class HttpAuth:
    """How an http trigger authenticates its callers; the domain supplies `check`.

    `check(request, ctx)` returns whether the caller may go on (it may be async). It runs before
    the body is parsed: with `over_body=False` before the body is even read (`request.raw_body`
    is empty, the caller presents a key in a header); with `over_body=True` on the raw bytes
    only (signatures). A refused caller gets 401 `{"error": error, "detail": detail}`.
    `schemes` are the OpenAPI security scheme objects, by name; any one of them suffices."""

    check: Callable[[ApiRequest, Any], bool | Awaitable[bool]]
    schemes: Mapping[str, Mapping[str, Any]] = field(hash=False)
    over_body: bool = False
    error: str = "unauthorized"
    detail: str = "authentication required"


@dataclass(frozen=True)
class Reply:
    """One documented answer of an http trigger: `model` None means any JSON."""

    description: str
    model: type[BaseModel] | None = None


@dataclass(frozen=True)
class HttpTrigger:
    method: str
    path: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: HttpAuth | None = None
    # status ("200", "default", ...) → what the handler answers; the engine's own refusals
    # (400, 401, 408, 413, 415, 422, 500, 504) are added to the OpenAPI document by the engine.
    responses: Mapping[str, Reply] = field(default_factory=dict, hash=False)
    # False: no body (or an empty one) reaches the handler as `body=None` instead of a 400.
    body_required: bool = True
    # The status of a body that fails validation (an endpoint's contract may want 400).
    invalid_status: int = 422
    kind: Literal["http"] = "http"

    def describe(self) -> str:
        return f"http {self.method} {self.path}"


@dataclass(frozen=True)
class QueueTrigger:
    topic: str
    input: type[BaseModel] | None = None
    config: QueueConfig = field(default_factory=QueueConfig)
    kind: Literal["queue"] = "queue"

    def describe(self) -> str:
        return f"queue {self.topic}"


@dataclass(frozen=True)
class CronTrigger:
    expression: str
    # Name under which the deployment may set another expression (e.g. "BETEILIGTE_CRON"):
    # `engine.project.override_crons` applies it at start-up.
    override: str | None = None
    kind: Literal["cron"] = "cron"

    def describe(self) -> str:
        return f"cron {self.expression}"


Trigger = HttpTrigger | QueueTrigger | CronTrigger


def http(
    method: str,
    path: str,
    body: type[BaseModel] | None = None,
    *,
    query: type[BaseModel] | None = None,
    auth: HttpAuth | None = None,
    responses: Mapping[int | str, Reply | type[BaseModel]] | None = None,
    body_required: bool = True,
    invalid_status: int = 422,
) -> HttpTrigger:
    """`responses` maps a status (or "default") to a Reply or a model (described by its
    docstring). `body_required=False` lets an empty body through as None; `invalid_status` is
    the answer to a body that fails validation."""
    replies = {
        str(status): r if isinstance(r, Reply) else Reply((r.__doc__ or "").strip() or "OK", r)
        for status, r in (responses or {}).items()
    }
    return HttpTrigger(method.upper(), path, body, query, auth, replies, body_required, invalid_status)


def queue(
    topic: str, input: type[BaseModel] | None = None, config: QueueConfig | None = None
) -> QueueTrigger:
    return QueueTrigger(topic=topic, input=input, config=config or QueueConfig())


def cron(expression: str, override: str | None = None) -> CronTrigger:
    return CronTrigger(expression=expression, override=override)


@dataclass
class ApiRequest:
    """What an HTTP step's handler receives. `body` is the validated model when the trigger has
    `body=Model`, otherwise the parsed JSON (or None). `raw_body` keeps the exact bytes (webhook
    signatures are computed over them). `params` is the validated query model when the trigger
    has `query=Model`."""

    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, str]
    query_all: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Any
    raw_body: bytes
    remote: str | None = None
    params: Any = None


@dataclass
class ApiResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
