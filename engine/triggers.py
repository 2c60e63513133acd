"""The step contract (Motia III style): trigger helpers and the HTTP request/response types.

A step file `*_step.py` has a module-level `config` dict and an `async def handler(input, ctx)`:

    config = {
        "name": "vmh-beteiligte-webhook",
        "description": "EspoCRM webhooks for CBeteiligte",
        "flows": ["vmh"],
        "triggers": [http("POST", "/vmh/webhook/beteiligte/create", body=Payload)],
        "enqueues": ["vmh.beteiligte.create"],
    }

One step may carry several triggers; `ctx.trigger` tells which one fired.
"""

from __future__ import annotations

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
class HttpTrigger:
    method: str
    path: str
    body: type[BaseModel] | None = None
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


def http(method: str, path: str, body: type[BaseModel] | None = None) -> HttpTrigger:
    return HttpTrigger(method=method.upper(), path=path, body=body)


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
    signatures are computed over them)."""

    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, str]
    query_all: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Any
    raw_body: bytes
    remote: str | None = None


@dataclass
class ApiResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
