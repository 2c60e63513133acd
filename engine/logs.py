"""Structured JSON log lines: one object per line with time, level, message, logger and the
fields of the trace context (`trace_id`, `step`, `job_id`, `entity_id`: see `tracecontext`),
plus any extra fields. Handlers log ids, field names and counts — never personal data; the
engine itself never logs job payloads.

Why the standard library and not structlog: every layer (engine, sync services, HTTP clients,
aiohttp, redis-py) already logs through `logging`; one filter that copies the context variable
onto each record reaches all of them without changing a call site.

An exception is logged with its type and stack (file, line, function of each frame); its
message only when the exception declares it safe (`log_safe = True`: it names routes and
statuses, never values), since a message may quote personal data.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from tracecontext import bound, current

__all__ = ["ContextFilter", "JsonFormatter", "StepLogger", "bound", "configure_logging", "exception_fields"]

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """Type, (safe) message and stack of an exception, for a log line."""
    frames = traceback.extract_tb(exc.__traceback__)
    out: dict[str, Any] = {
        "error_type": type(exc).__name__,
        "stack": [f"{'/'.join(Path(f.filename).parts[-3:])}:{f.lineno} in {f.name}" for f in frames],
    }
    if getattr(exc, "log_safe", False):
        out["error"] = str(exc)[:500]
    return out


class ContextFilter(logging.Filter):
    """Copies the bound trace context onto every record (fields already set win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(exception_fields(record.exc_info[1]))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class StepLogger:
    """`ctx.logger`: `ctx.logger.info("synced", fields=3)` → a JSON line carrying the step name,
    trace id and trigger of the context it belongs to."""

    def __init__(self, logger: logging.Logger, **context: Any) -> None:
        self._logger = logger
        self._context = context

    def bind(self, **more: Any) -> StepLogger:
        return StepLogger(self._logger, **{**self._context, **more})

    def _log(self, level: int, msg: str, fields: dict[str, Any], exc_info: Any = None) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, msg, extra={**self._context, **fields}, exc_info=exc_info)

    def debug(self, msg: str, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._log(logging.INFO, msg, fields)

    def warning(self, msg: str, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.WARNING, msg, fields, exc_info=exc_info)

    def error(self, msg: str, exc_info: Any = None, **fields: Any) -> None:
        """`exc_info`: an exception (or True inside `except`) adds its type and stack."""
        self._log(logging.ERROR, msg, fields, exc_info=exc_info)
