"""`motia.config.json`: the project's static wiring (step directories, flows, queue defaults).

Queue defaults apply to queue triggers declared without a `QueueConfig` of their own. When the
file declares flows, a step naming an undeclared flow is a start-up error (a typo in a flow name
would otherwise silently split the flow graph).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .registry import Step, StepValidationError, is_valid_cron
from .triggers import CronTrigger, QueueConfig, QueueTrigger


class QueueDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    concurrency: int = Field(10, ge=1)
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(3, ge=0, alias="maxRetries")
    backoff_base: float = Field(1.0, ge=0, alias="backoffBase")
    backoff_max: float = Field(300.0, ge=0, alias="backoffMax")
    visibility_timeout: float | None = Field(None, gt=0, alias="visibilityTimeout")

    def to_queue_config(self) -> QueueConfig:
        return QueueConfig(**self.model_dump())


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    comment: str = Field("", alias="$comment")
    steps: list[str] = Field(default_factory=lambda: ["steps"])
    flows: dict[str, str] = Field(default_factory=dict)
    queue_defaults: QueueDefaults = Field(
        default_factory=lambda: QueueDefaults.model_validate({}), alias="queueDefaults"
    )


def load_project_config(path: Path) -> ProjectConfig:
    if not path.exists():
        return ProjectConfig.model_validate({})
    try:
        return ProjectConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise StepValidationError([f"{path}: invalid project config: {exc}"]) from exc


def override_crons(steps: list[Step], overrides: Mapping[str, str]) -> list[Step]:
    """Replace the expression of every cron trigger whose `override` name has a value in
    `overrides` (the deployment's settings); every bad expression is reported at once."""
    problems = []
    for step in steps:
        replaced = []
        for t in step.triggers:
            value = overrides.get(t.override) if isinstance(t, CronTrigger) and t.override else None
            if value and isinstance(t, CronTrigger):
                if not is_valid_cron(value):
                    problems.append(f"{t.override}: invalid cron expression {value!r} (step {step.name})")
                t = replace(t, expression=value)
            replaced.append(t)
        step.triggers = replaced
    if problems:
        raise StepValidationError(problems)
    return steps


def apply_project_config(steps: list[Step], project: ProjectConfig, source: Path) -> list[Step]:
    """Fill queue defaults and check flow names; returns the same steps, updated in place."""
    problems = []
    defaults = project.queue_defaults.to_queue_config()
    for step in steps:
        unknown = [f for f in step.flows if project.flows and f not in project.flows]
        if unknown:
            problems.append(
                f"{step.file}: flows {unknown} are not declared in {source} (declared: "
                f"{sorted(project.flows)})"
            )
        step.triggers = [
            replace(t, config=defaults) if isinstance(t, QueueTrigger) and t.config == QueueConfig() else t
            for t in step.triggers
        ]
    if problems:
        raise StepValidationError(problems)
    return steps
