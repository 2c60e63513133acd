"""Copies of the service's databases that can be taken while the service runs, and put back.

- SQLite (the embedded engine's file and an embedded service database): SQLite's online backup
  API, a consistent copy while writers go on; the copy is switched to a rollback journal so it
  is one self-contained file.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot) and `pg_restore`. The password
  goes to the tools in `PGPASSWORD`, never on their command line (where `ps` would show it).
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

TOOL_DIRS = "/usr/lib/postgresql/*/bin"
CLIENT = "postgresql-client"


class BackupError(RuntimeError):
    """A copy could not be taken or put back; the message names no password."""

    log_safe = True


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of the SQLite database `source` (which may be in use) at `target`."""
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"copying {source} failed: {exc}") from None
    finally:
        dst.close()
        src.close()


def sqlite_counts(path: Path, tables: Sequence[str]) -> dict[str, int]:
    """Rows per table of a copy (read only), for the manifest and the check after a restore."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}
    finally:
        conn.close()


def pg_tool(name: str) -> str:
    """`pg_dump` / `pg_restore` from PATH, else the newest under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"{TOOL_DIRS}/{name}"), key=_version)
    if not candidates:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools (apt-get install {CLIENT})")
    return candidates[-1]


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in Path(path).parent.parent.name.split(".") if p.isdigit())


def without_password(url: str) -> tuple[str, str | None]:
    """The URL with its password taken out, and the password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    host = parts.hostname or ""
    netloc = (parts.username or "") + "@" + (f"[{host}]" if ":" in host else host)
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


def _run(argv: list[str], url: str, what: str, timeout: float) -> None:
    plain, password = without_password(url)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    try:
        done = subprocess.run(
            [*argv, f"--dbname={plain}"], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        if password:
            detail = detail.replace(password, "***")
        raise BackupError(f"{what} failed: {detail}")


def pg_dump(url: str, target: Path, timeout: float = 3600) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}"], url, "pg_dump", timeout)


def pg_restore(url: str, source: Path, timeout: float = 3600) -> None:
    """Into the (existing, empty or to be overwritten) database of `url`."""
    argv = [pg_tool("pg_restore"), "--no-owner", "--clean", "--if-exists", "--exit-on-error", str(source)]
    _run(argv, url, "pg_restore", timeout)
