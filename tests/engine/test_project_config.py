"""motia.config.json: queue defaults, declared flows, a clear error for a broken file."""

from __future__ import annotations

import json
import textwrap

import pytest

from engine.project import apply_project_config, load_project_config
from engine.registry import StepValidationError, load_steps
from engine.triggers import QueueConfig, QueueTrigger

STEP = """
from engine import QueueConfig, queue
config = {"name": "%s", "flows": ["%s"], "triggers": [queue("t.%s"%s)]}
async def handler(data, ctx): pass
"""


def write_step(tmp_path, name, flow, explicit=False):
    cfg = ", config=QueueConfig(concurrency=2)" if explicit else ""
    (tmp_path / f"{name}_step.py").write_text(textwrap.dedent(STEP % (name, flow, name, cfg)))


def write_project(tmp_path, body):
    path = tmp_path / "motia.config.json"
    path.write_text(json.dumps(body))
    return path


def test_queue_defaults_fill_triggers_without_their_own_config(tmp_path):
    write_step(tmp_path, "plain", "vmh")
    write_step(tmp_path, "tuned", "vmh", explicit=True)
    path = write_project(
        tmp_path, {"flows": {"vmh": "parties"}, "queueDefaults": {"maxRetries": 7, "timeout": 5}}
    )
    steps = {s.name: s for s in apply_project_config(load_steps([tmp_path]), load_project_config(path), path)}
    (plain,) = steps["plain"].triggers_of(QueueTrigger)
    (tuned,) = steps["tuned"].triggers_of(QueueTrigger)
    assert (plain.config.max_retries, plain.config.timeout) == (7, 5)
    assert tuned.config == QueueConfig(concurrency=2)


def test_undeclared_flow_is_a_startup_error(tmp_path):
    write_step(tmp_path, "typo", "vhm")
    path = write_project(tmp_path, {"flows": {"vmh": "parties"}})
    with pytest.raises(StepValidationError) as info:
        apply_project_config(load_steps([tmp_path]), load_project_config(path), path)
    assert "typo_step.py: flows ['vhm'] are not declared in" in str(info.value)


def test_broken_project_file_names_the_file(tmp_path):
    path = write_project(tmp_path, {"flows": {}, "queueDefault": {}})
    with pytest.raises(StepValidationError) as info:
        load_project_config(path)
    assert str(path) in str(info.value) and "queueDefault" in str(info.value)


def test_the_repository_config_is_valid_and_covers_every_step():
    from cli import wiring
    from config import Settings

    steps = wiring.load(Settings(_env_file=None))  # type: ignore[call-arg]
    assert {s.name for s in steps} >= {"advoware-proxy", "vmh-beteiligte-sync", "vmh-beteiligte-webhook"}
    assert all(set(s.flows) <= set(wiring.project().flows) for s in steps)
