"""Fixtures for service tests: the service database, once per engine (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.db import Database, open_database
from tests.fixtures.postgres_server import postgres_server, postgres_url  # noqa: F401

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """URL of an empty, not yet migrated service database of each engine."""
    if request.param == "sqlite":
        # A missing parent directory on purpose: opening must create it.
        return f"sqlite:///{tmp_path}/db/service.db"
    # Only the PostgreSQL case starts the server, so `-m "not postgres"` needs no binaries.
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open, migrated service database (audit values masked, the default)."""
    async with open_database(database_url) as db:
        await db.migrate()
        yield db
