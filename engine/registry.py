"""Step discovery and start-up validation.

Finds `*_step.py` files, imports them, checks each `config` and `handler`, and checks the
whole graph (routes, topics, crons). Every problem is reported with the file it is in, and all
problems are reported at once so an operator fixes them in one pass.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from croniter import croniter
from pydantic import BaseModel

from .triggers import CronTrigger, HttpTrigger, QueueTrigger, Trigger

ALLOWED_KEYS = {"name", "description", "flows", "triggers", "enqueues", "health"}
REQUIRED_KEYS = {"name", "triggers"}

Handler = Callable[[Any, Any], Awaitable[Any]]


class StepValidationError(Exception):
    """One or more step files are invalid; `problems` lists them, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid steps:\n  - " + "\n  - ".join(problems))


@dataclass
class Step:
    name: str
    file: str
    handler: Handler
    triggers: list[Trigger]
    enqueues: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    description: str = ""
    # `async def health(ctx) -> dict` merged into /health ("degraded": True marks it degraded).
    health: Callable[[Any], Awaitable[dict[str, Any]]] | None = None

    def triggers_of(self, kind: type) -> list[Any]:
        return [t for t in self.triggers if isinstance(t, kind)]


def discover_step_files(dirs: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        root = Path(d)
        if root.is_dir():
            files.extend(sorted(p for p in root.rglob("*_step.py") if "__pycache__" not in p.parts))
    return files


def load_steps(dirs: Iterable[str | Path]) -> list[Step]:
    """Import and validate every step under `dirs`; raises StepValidationError."""
    problems: list[str] = []
    steps: list[Step] = []
    for path in discover_step_files(dirs):
        try:
            module = _import_file(path)
        except Exception as exc:  # an import error is a problem of that file
            problems.append(f"{path}: cannot import: {type(exc).__name__}: {exc}")
            continue
        step = _build_step(path, module, problems)
        if step is not None:
            steps.append(step)
    problems.extend(validate_graph(steps))
    if problems:
        raise StepValidationError(problems)
    return steps


def _import_file(path: Path) -> Any:
    rel = path.resolve().with_suffix("")
    module_name = "bitbylaw_step_" + "_".join(rel.parts[-4:]).replace("-", "_").replace(".", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no loader for {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _build_step(path: Path, module: Any, problems: list[str]) -> Step | None:
    config = getattr(module, "config", None)
    handler = getattr(module, "handler", None)
    before = len(problems)
    if not isinstance(config, dict):
        problems.append(f"{path}: missing module-level `config` dict")
        return None
    unknown = sorted(set(config) - ALLOWED_KEYS)
    if unknown:
        problems.append(f"{path}: unknown config keys {unknown} (allowed: {sorted(ALLOWED_KEYS)})")
    missing = sorted(REQUIRED_KEYS - set(config))
    if missing:
        problems.append(f"{path}: config is missing {missing}")
    if handler is None:
        problems.append(f"{path}: missing `handler` function")
    elif not inspect.iscoroutinefunction(handler):
        problems.append(f"{path}: handler must be `async def handler(input, ctx)`")
    triggers = config.get("triggers") or []
    if not triggers:
        problems.append(f"{path}: config['triggers'] must list at least one trigger")
    for trigger in triggers:
        problems.extend(f"{path}: {p}" for p in _check_trigger(trigger))
    enqueues = config.get("enqueues", [])
    if not isinstance(enqueues, list) or not all(isinstance(t, str) for t in enqueues):
        problems.append(f"{path}: config['enqueues'] must be a list of topic names")
    health = config.get("health")
    if health is not None and not inspect.iscoroutinefunction(health):
        problems.append(f"{path}: config['health'] must be `async def health(ctx) -> dict`")
    if len(problems) > before:
        return None
    return Step(
        name=str(config["name"]),
        file=str(path),
        handler=handler,  # type: ignore[arg-type]
        triggers=list(triggers),
        enqueues=list(enqueues),
        flows=list(config.get("flows", [])),
        description=str(config.get("description", "")),
        health=health,
    )


def _check_trigger(trigger: Any) -> list[str]:
    if isinstance(trigger, HttpTrigger):
        out = []
        if not trigger.path.startswith("/"):
            out.append(f"http route {trigger.path!r} must start with '/'")
        if trigger.method not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
            out.append(f"http method {trigger.method!r} is not supported")
        if trigger.body is not None and not _is_model(trigger.body):
            out.append(f"http body model of {trigger.path} must be a pydantic BaseModel subclass")
        return out
    if isinstance(trigger, QueueTrigger):
        out = []
        if trigger.input is not None and not _is_model(trigger.input):
            out.append(
                f"queue input model of topic {trigger.topic!r} must be a pydantic BaseModel "
                f"subclass, got {trigger.input!r}"
            )
        cfg = trigger.config
        if cfg.concurrency < 1 or cfg.timeout <= 0 or cfg.max_retries < 0:
            out.append(f"queue config of topic {trigger.topic!r} is invalid: {cfg}")
        return out
    if isinstance(trigger, CronTrigger):
        if not is_valid_cron(trigger.expression):
            return [f"invalid cron expression {trigger.expression!r}"]
        return []
    return [f"unknown trigger {trigger!r}; use http(), queue() or cron()"]


def is_valid_cron(expression: str) -> bool:
    """Five fields in production; croniter's optional sixth (seconds) field for tests/demos."""
    fields = expression.split()
    return len(fields) in (5, 6) and croniter.is_valid(expression, second_at_beginning=False)


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def validate_graph(steps: list[Step]) -> list[str]:
    problems: list[str] = []
    names: dict[str, str] = {}
    routes: dict[tuple[str, str], str] = {}
    subscribed = {t.topic for s in steps for t in s.triggers_of(QueueTrigger)}
    for step in steps:
        if step.name in names:
            problems.append(f"{step.file}: step name {step.name!r} is also used by {names[step.name]}")
        names[step.name] = step.file
        for t in step.triggers_of(HttpTrigger):
            key = (t.method, t.path)
            if key in routes:
                problems.append(f"{step.file}: route {t.method} {t.path} is already served by {routes[key]}")
            routes[key] = step.file
        for topic in step.enqueues:
            if topic not in subscribed:
                problems.append(f"{step.file}: enqueues topic {topic!r} but no step subscribes to it")
    return problems
