"""Plain-SQL migrations shipped in the repo: `migrations/<dialect>/NNNN_name.sql`.

Each dialect has its own folder; both hold the same names (a test checks it), so a schema change
is always written for PostgreSQL and SQLite together. The drivers apply them (dialect-specific
locking), recording each in `schema_migrations`.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from typing import Literal

Dialect = Literal["postgres", "sqlite"]
DIALECTS: tuple[Dialect, ...] = ("postgres", "sqlite")
_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    name: str  # file name without ".sql", e.g. "0001_init"
    sql: str


def load_migrations(dialect: Dialect) -> list[Migration]:
    """All migrations of `dialect`, in name order."""
    folder = resources.files(__package__) / "migrations" / dialect
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    migrations = []
    for f in files:
        if not _NAME.match(f.name):
            raise ValueError(f"migration file name {f.name!r} does not match NNNN_name.sql")
        migrations.append(Migration(name=f.name.removesuffix(".sql"), sql=f.read_text("utf-8")))
    return migrations


def migration_names(dialect: Dialect) -> list[str]:
    return [m.name for m in load_migrations(dialect)]


def split_sqlite_statements(sql: str) -> list[str]:
    """Split a script into statements (trigger bodies stay whole).

    Needed because `executescript` commits first, which would break the BEGIN IMMEDIATE that
    serialises concurrent migrations.
    """
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if _strip_comments(buffer):
        raise ValueError(f"incomplete SQL statement at end of migration: {buffer.strip()[:80]!r}")
    return [s for s in statements if _strip_comments(s)]


def _strip_comments(sql: str) -> str:
    lines = (line.split("--", 1)[0] for line in sql.splitlines())
    return "".join(lines).strip().strip(";").strip()
