"""Shared test set-up. Fixture modules are registered here, once for the whole suite (pytest
allows `pytest_plugins` only in the top-level conftest); their servers start only when a test
asks for them."""

from __future__ import annotations

import os

os.environ.setdefault("BITBYLAW_TESTING", "1")

pytest_plugins = [
    "tests.fixtures.advoware_sim",
    "tests.fixtures.espocrm_sim",
    "tests.fixtures.google_sim",
    "tests.fixtures.redis_server",
    "tests.fixtures.postgres_server",
    "tests.fixtures.service_process",
]
