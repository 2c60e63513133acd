"""Start-up validation: one test per failure, asserting the message names the file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.registry import StepValidationError, load_steps

HEADER = "from pydantic import BaseModel\nfrom engine import http, queue, cron, QueueConfig\n"
GOOD_SUB = """
config = {"name": "sub", "triggers": [queue("t.known")], "enqueues": []}
async def handler(data, ctx): pass
"""


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def problems(tmp_path: Path) -> str:
    with pytest.raises(StepValidationError) as info:
        load_steps([tmp_path])
    return str(info.value)


def test_valid_steps_load(tmp_path):
    write(tmp_path, "sub_step.py", GOOD_SUB)
    (step,) = load_steps([tmp_path])
    assert step.name == "sub"


def test_unknown_config_key(tmp_path):
    path = write(
        tmp_path,
        "a_step.py",
        """
        config = {"name": "a", "triggers": [http("GET", "/a")], "emits": ["x"]}
        async def handler(req, ctx): pass
    """,
    )
    msg = problems(tmp_path)
    assert str(path) in msg and "unknown config keys ['emits']" in msg


def test_topic_nobody_subscribes_to(tmp_path):
    path = write(
        tmp_path,
        "a_step.py",
        """
        config = {"name": "a", "triggers": [http("GET", "/a")], "enqueues": ["t.orphan"]}
        async def handler(req, ctx): pass
    """,
    )
    msg = problems(tmp_path)
    assert str(path) in msg and "enqueues topic 't.orphan' but no step subscribes to it" in msg


def test_two_steps_on_one_route(tmp_path):
    write(
        tmp_path,
        "a_step.py",
        """
        config = {"name": "a", "triggers": [http("POST", "/same")]}
        async def handler(req, ctx): pass
    """,
    )
    second = write(
        tmp_path,
        "b_step.py",
        """
        config = {"name": "b", "triggers": [http("post", "/same")]}
        async def handler(req, ctx): pass
    """,
    )
    msg = problems(tmp_path)
    assert f"{second}: route POST /same is already served by" in msg


def test_invalid_cron_expression(tmp_path):
    path = write(
        tmp_path,
        "a_step.py",
        """
        config = {"name": "a", "triggers": [cron("*/15 * * *")]}
        async def handler(data, ctx): pass
    """,
    )
    msg = problems(tmp_path)
    assert str(path) in msg and "invalid cron expression '*/15 * * *'" in msg


def test_handler_not_async(tmp_path):
    path = write(
        tmp_path,
        "a_step.py",
        """
        config = {"name": "a", "triggers": [http("GET", "/a")]}
        def handler(req, ctx): pass
    """,
    )
    msg = problems(tmp_path)
    assert str(path) in msg and "handler must be `async def handler(input, ctx)`" in msg


def test_queue_input_model_not_a_model(tmp_path):
    path = write(
        tmp_path,
        "a_step.py",
        """
        class NotAModel:
            n: int
        config = {"name": "a", "triggers": [queue("t.x", input=NotAModel)]}
        async def handler(data, ctx): pass
    """,
    )
    msg = problems(tmp_path)
    assert str(path) in msg and "queue input model of topic 't.x' must be a pydantic BaseModel" in msg


def test_missing_config_and_handler(tmp_path):
    path = write(tmp_path, "a_step.py", "x = 1\n")
    assert f"{path}: missing module-level `config` dict" in problems(tmp_path)


def test_import_error_names_file(tmp_path):
    path = write(tmp_path, "a_step.py", "import does_not_exist_anywhere\n")
    msg = problems(tmp_path)
    assert str(path) in msg and "cannot import" in msg


def test_duplicate_step_name(tmp_path):
    write(tmp_path, "a_step.py", GOOD_SUB)
    path = write(tmp_path, "b_step.py", GOOD_SUB)
    assert f"{path}: step name 'sub' is also used by" in problems(tmp_path)


def test_all_problems_reported_at_once(tmp_path):
    write(
        tmp_path,
        "a_step.py",
        """
        config = {"name": "a", "triggers": [cron("bad")], "colour": 1}
        async def handler(data, ctx): pass
    """,
    )
    write(
        tmp_path,
        "b_step.py",
        """
        config = {"name": "b", "triggers": [http("GET", "/b")]}
        def handler(req, ctx): pass
    """,
    )
    with pytest.raises(StepValidationError) as info:
        load_steps([tmp_path])
    assert len(info.value.problems) == 3
