"""Metrics from every process, and the shipped alert rules, in both layouts (finding 5 of the
first-day report).

Redis layout: one `api` and one `worker` process. The worker serves /metrics on its own port;
a dead-lettered job raises `bitbylaw_jobs_failed_total` there, and the alert rule
`BitbylawJobsDeadLettered` evaluates true on the scraped samples (with promtool where it is
installed, else by evaluating the rule's expression on the scrapes here). The queue gauges
come from exactly one of the two processes. Embedded layout: one process, the same rule.
Every metric the rules file names exists on the scraped endpoints, and the file passes
`promtool check rules`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.engine.test_redis_processes import redis  # noqa: F401 - the fixture
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.service_process import ServiceProcess, base_env, free_port, service_processes  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "prometheus" / "alerts.yml"
STEPS = json.dumps(["steps", "tests/engine/example_steps"])  # the real steps and a failing one
FLAKY = {"topic": "demo.flaky", "step": "example-flaky"}
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> tuple[Samples, set[str]]:
    """Samples by (name, labels) and every metric name the endpoint declares."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    samples: Samples = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count"))
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, names


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def ingest_flaky(port: int) -> None:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/ingest",
        data=json.dumps({"items": [{"n": 1, "topic": "demo.flaky"}]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def rule(name: str) -> dict[str, Any]:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for r in group["rules"]:
            if r["alert"] == name:
                return dict(r)
    raise KeyError(name)


def named_metrics() -> set[str]:
    text = " ".join(r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"])
    return set(re.findall(r"\bbitbylaw_[a-z_]+", text))


def evaluate_dead_letter_rule(before: Samples, after: Samples) -> dict[tuple[str, ...], float]:
    """`sum by (L) (increase(M[R])) > 0` on two scrapes taken within R: the groups that fire.
    (No counter reset between the scrapes: the processes ran throughout.)"""
    expr = " ".join(rule("BitbylawJobsDeadLettered")["expr"].split())
    match = re.fullmatch(r"sum by \(([\w, ]+)\) \(increase\((\w+)\[\w+\]\)\) > 0", expr)
    assert match, f"the test evaluates this shape only: {expr}"
    by, metric = [label.strip() for label in match[1].split(",")], match[2]
    increase: dict[tuple[str, ...], float] = defaultdict(float)
    for (name, labels), v in after.items():
        if name == metric:
            increase[tuple(dict(labels)[b] for b in by)] += v - before.get((name, labels), 0.0)
    return {group: v for group, v in increase.items() if v > 0}


def promtool_fires(scrapes: dict[str, tuple[Samples, Samples]], tmp_path: Path) -> bool:
    """Feed the scraped samples (before at 0m, after at 1m) to `promtool test rules` and expect
    the alert; True when promtool agreed, False when promtool is not installed."""
    if shutil.which("promtool") is None:
        return False
    series = []
    for instance, (before, after) in scrapes.items():
        for key in sorted(set(before) | set(after)):
            name, labels = key
            if not name.startswith("bitbylaw_jobs_failed"):
                continue
            rendered = ",".join(f'{k}="{v}"' for k, v in (*labels, ("instance", instance)))
            values = " ".join("_" if key not in s else repr(s[key]) for s in (before, after))
            series.append({"series": f"{name}{{{rendered}}}", "values": values})
    test = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "1m",
                        "alertname": "BitbylawJobsDeadLettered",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", **FLAKY},
                                "exp_annotations": {
                                    "summary": "Jobs of example-flaky (demo.flaky) failed after their last retry",
                                    "description": rule("BitbylawJobsDeadLettered")["annotations"][
                                        "description"
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "rules_test.yml"
    path.write_text(yaml.safe_dump(test))
    result = subprocess.run(
        ["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return True


def assert_rule_fires(scrapes: dict[str, tuple[Samples, Samples]], tmp_path: Path) -> None:
    before: Samples = {}
    after: Samples = {}
    for instance, (b, a) in scrapes.items():  # sum over processes: label each with its instance
        before.update({(n, (*ls, ("instance", instance))): v for (n, ls), v in b.items()})
        after.update({(n, (*ls, ("instance", instance))): v for (n, ls), v in a.items()})
    assert evaluate_dead_letter_rule(before, after) == {("demo.flaky", "example-flaky"): 1.0}
    promtool_fires(scrapes, tmp_path)


def test_the_rules_file_passes_promtool():
    if shutil.which("promtool") is None:
        pytest.skip(
            "promtool not installed (apt-get install prometheus): rules checked by the layout tests only"
        )
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


@pytest.mark.redis
def test_redis_layout_worker_metrics_fire_the_dead_letter_alert(
    tmp_path, redis: RedisServer, service_processes
):
    api_port, worker_port = free_port(), free_port()
    env = base_env(
        STEPS_DIRS=STEPS,
        ENGINE_BACKEND="redis",
        REDIS_URL=redis.url,
        REDIS_PREFIX="metrics-test",
        EXAMPLE_RECORD_FILE=str(tmp_path / "rec.jsonl"),
        SHUTDOWN_GRACE_SECONDS="5",
    )
    api = ServiceProcess(["run", "--role", "api", "--port", str(api_port)], env, tmp_path / "api.log").start()
    worker = ServiceProcess(
        ["run", "--role", "worker", "--metrics-port", str(worker_port)], env, tmp_path / "worker.log"
    ).start()
    service_processes.extend([api, worker])
    api.wait_http(api_port, timeout=30)
    worker.wait_http(worker_port, timeout=30)  # a worker answers /health and /metrics too
    before = {"api": scrape(api_port)[0], "worker": scrape(worker_port)[0]}
    assert value(before["worker"], "bitbylaw_jobs_failed_total", **FLAKY) == 0.0  # exists before it counts
    info = [k for k in before["worker"] if k[0] == "bitbylaw_build_info"]
    assert len(info) == 1 and dict(info[0][1])["version"]

    ingest_flaky(api_port)
    wait_until(lambda: value(scrape(worker_port)[0], "bitbylaw_jobs_failed_total", **FLAKY) == 1.0)
    (api_after, api_names), (worker_after, worker_names) = scrape(api_port), scrape(worker_port)
    assert value(worker_after, "bitbylaw_jobs_retried_total", **FLAKY) == 3.0

    # Queue gauges: one process reports them for the deployment, the other reports none.
    reporters = [
        name
        for name, samples in (("api", api_after), ("worker", worker_after))
        if value(samples, "bitbylaw_queue_dead", **FLAKY) is not None
    ]
    assert len(reporters) == 1, reporters
    dead = max(value(s, "bitbylaw_queue_dead", **FLAKY) or 0.0 for s in (api_after, worker_after))
    assert dead == 1.0

    assert_rule_fires(
        {"api": (before["api"], api_after), "worker": (before["worker"], worker_after)}, tmp_path
    )
    missing = named_metrics() - (api_names | worker_names)
    assert missing == set(), missing


def test_embedded_layout_one_process_fires_the_same_alert(tmp_path, service_processes):
    port = free_port()
    env = base_env(
        STEPS_DIRS=STEPS,
        HTTP_PORT=str(port),
        EXAMPLE_RECORD_FILE=str(tmp_path / "rec.jsonl"),
        SHUTDOWN_GRACE_SECONDS="5",
    )
    proc = ServiceProcess(["run"], env, tmp_path / "all.log").start()
    service_processes.append(proc)
    proc.wait_http(port, timeout=30)
    before, _ = scrape(port)
    ingest_flaky(port)
    wait_until(lambda: value(scrape(port)[0], "bitbylaw_queue_dead", **FLAKY) == 1.0)
    after, names = scrape(port)
    assert value(after, "bitbylaw_jobs_failed_total", **FLAKY) == 1.0
    assert value(after, "bitbylaw_queue_oldest_job_age_seconds", **FLAKY) == 0.0
    assert value(after, "bitbylaw_cron_interval_seconds", step="vmh-beteiligte-cron") == 900.0
    assert value(after, "bitbylaw_sync_outcomes_total", entity="CBeteiligte", status="failed") == 0.0
    assert_rule_fires({"all": (before, after)}, tmp_path)
    assert named_metrics() - names == set()
