"""Printing listings: a fixed-width table for people, `--json` for scripts (one JSON array)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

import typer

JSON_OPTION = typer.Option(False, "--json", help="print one JSON array instead of a table")


def when(epoch: float | None) -> str:
    """A UTC time for tables: 2026-03-29 01:00:00Z, or '-'."""
    return "-" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def listing(
    rows: Sequence[Any],
    as_json: bool,
    columns: Sequence[tuple[str, int, Callable[[Any], Any]]],
    *,
    noun: str,
) -> None:
    """Print `rows` as JSON (dataclasses or dicts) or as a table of `columns` (header, width —
    negative aligns right —, value); a count line goes to stderr so stdout stays parseable."""
    if as_json:
        plain = [asdict(r) if is_dataclass(r) and not isinstance(r, type) else r for r in rows]
        typer.echo(json.dumps(plain, default=str))
        return
    typer.echo(_line([(h, w) for h, w, _ in columns]))
    for row in rows:
        typer.echo(_line([(_text(value(row)), w) for _, w, value in columns]))
    typer.echo(f"{len(rows)} {noun}", err=True)


def _text(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _line(cells: Sequence[tuple[str, int]]) -> str:
    return " ".join(f"{c:>{-w}}" if w < 0 else f"{c:<{w}}" for c, w in cells).rstrip()
