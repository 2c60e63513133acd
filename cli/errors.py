"""The CLI's one error handler: every expected failure becomes one line on stderr and an exit code.

Exit codes (docs/operations.md): 1 = what was asked failed or does not exist (not found, sync
failed, lock held); 2 = bad usage or settings; 3 = a system this command needs is unreachable or
refuses us (EspoCRM, Advoware, Google, the engine backend, the service database, a busy port).
A traceback is printed only with `--debug`.
"""

from __future__ import annotations

import errno
import re

from config import SettingsError
from engine.backends.base import BackendUnavailable
from engine.registry import StepValidationError
from engine.scheduler import UnknownCron
from services.clients.errors import ApiError, NotFound, ServerError, TransportError, Unauthorized
from steps.deps import ServiceDatabaseUnavailable

FAILED, USAGE, UNREACHABLE = 1, 2, 3

SYSTEMS = {
    "espocrm": ("EspoCRM", "ESPOCRM_API_BASE_URL", "ESPOCRM_API_KEY / ESPOCRM_SECRET_KEY"),
    "advoware": ("Advoware", "ADVOWARE_API_BASE_URL", "ADVOWARE_* credentials"),
    "advoware-auth": ("Advoware", "ADVOWARE_TOKEN_URL", "ADVOWARE_* credentials"),
    "google": ("Google", "GOOGLE_API_BASE_URL", "GOOGLE_SERVICE_ACCOUNT_FILE"),
}


class CliError(Exception):
    """An expected failure a command reports itself: `message` is the line printed."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        self.code = code
        super().__init__(message)


def describe(exc: BaseException) -> tuple[list[str], int] | None:
    """The lines and exit code for an expected failure; None for a bug (a traceback then)."""
    if isinstance(exc, CliError):
        return [f"error: {exc}"], exc.code
    if isinstance(exc, SettingsError):
        return list(exc.problems), USAGE
    if isinstance(exc, UnknownCron):
        return [f"error: {exc}"], USAGE
    if isinstance(exc, StepValidationError):
        return [f"invalid step: {p}" for p in exc.problems], USAGE
    if isinstance(exc, BackendUnavailable):
        return [f"error: engine backend unavailable: {exc} (check ENGINE_BACKEND, REDIS_URL, DATA_DIR)"], (
            UNREACHABLE
        )
    if isinstance(exc, ApiError):
        return [f"error: {api_error_text(exc)}"], UNREACHABLE if _unreachable(exc) else FAILED
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return [f"error: {port_in_use_text(exc)}"], UNREACHABLE
    if isinstance(exc, ServiceDatabaseUnavailable):
        return [f"error: {exc}"], UNREACHABLE
    return None


def _unreachable(exc: ApiError) -> bool:
    return isinstance(exc, TransportError | Unauthorized | ServerError) or exc.status == 403


def api_error_text(exc: ApiError) -> str:
    name, url_setting, credentials = SYSTEMS.get(exc.system, (exc.system, "its URL", "its credentials"))
    where = f"{exc.method} {exc.route}"
    if isinstance(exc, TransportError):
        return f"{name} unreachable ({exc.message.split(': ', 1)[-1]} on {where}): check {url_setting}"
    if isinstance(exc, Unauthorized) or exc.status == 403:
        return f"{name} refused the credentials (HTTP {exc.status} on {where}): check {credentials}"
    if isinstance(exc, NotFound):
        return f"{name} has no such record (HTTP 404 on {where})"
    if isinstance(exc, ServerError):
        return f"{name} failed (HTTP {exc.status} on {where}): try again later"
    return exc.message


_ADDRESS = re.compile(r"\('([^']*)', (\d+)\)")


def port_in_use_text(exc: OSError) -> str:
    match = _ADDRESS.search(str(exc))
    where = f"{match[1]}:{match[2]}" if match else "the configured address"
    return (
        f"cannot listen on {where}: the port is in use by another process "
        "(stop it, or choose another port: HTTP_PORT, WORKER_METRICS_PORT, SIMULATOR_*_PORT)"
    )
