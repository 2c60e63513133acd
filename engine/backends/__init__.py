"""Backend selection: `embedded` (SQLite file) or `redis`."""

from __future__ import annotations

from pathlib import Path

from .base import Backend


def create_backend(
    kind: str, *, db_path: str | Path = "data/engine.db", redis_url: str = "", redis_prefix: str = "bitbylaw"
) -> Backend:
    if kind == "embedded":
        from .embedded import EmbeddedBackend

        return EmbeddedBackend(db_path)
    if kind == "redis":
        from .redis import RedisBackend

        return RedisBackend(url=redis_url, prefix=redis_prefix)
    raise ValueError(f"unknown backend {kind!r} (use 'embedded' or 'redis')")
