"""Typed settings for every part of bitbylaw, read from the environment and a settings file.

Every field is documented in `.env.example`. Each setting has one flat, explicit env name (what
operators type). Secrets, and URLs that may carry a password, are `SecretStr`: their repr is
masked. An empty value means "unset" (the default applies), so `cp .env.example .env` works.

`get_settings()` reads the file named by `BITBYLAW_ENV_FILE` (default `.env`) and reports every
invalid setting on a line of its own, by its env name, never with its value (it may be a secret).
Relative data paths (`ENGINE_DB_PATH`, a SQLite `DATABASE_URL`, `SIMULATOR_SNAPSHOT_DIR`) are
taken inside `DATA_DIR`; a relative `DATA_DIR` is taken relative to the settings file's folder.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

ENV_FILE_VARIABLE = "BITBYLAW_ENV_FILE"
CONSOLE_PASSWORD_MIN_LENGTH = 12
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _check_url(value: str, schemes: tuple[str, ...], example: str) -> str:
    """The URL as given, when it has one of `schemes` and a host. Messages never echo it."""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError(f"must be a URL such as {example} (the port is not a number in 0..65535)") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be a URL such as {example}")
    return value.strip()


def _http_url(value: str) -> str:
    return _check_url(value, ("http", "https"), "https://host/path")


def _redis_url(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value().strip()
    if not raw.startswith("unix://"):
        _check_url(raw, ("redis", "rediss"), "redis://host:6379/0")
    return SecretStr(raw)


def _database_url(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value().strip()
    if raw.startswith("sqlite:///"):
        if raw == "sqlite:///":
            raise ValueError("must name a file: sqlite:///service.db (relative to DATA_DIR)")
        return SecretStr(raw)
    _check_url(raw, ("postgresql", "postgres"), "postgresql://user@host:5432/db or sqlite:///service.db")
    return SecretStr(raw)


def _json_value(value: Any) -> Any:
    """JSON from the environment, parsed here (not by the settings source) so a mistake is a
    validation error naming the field. The message never quotes the value."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON ({exc.msg} at column {exc.colno})") from None


def _json_map(value: Any) -> Any:
    parsed = _json_value(value)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise ValueError('must be a JSON object such as {"webhookId": "secret"}')
    return parsed


def _dir_list(value: Any) -> Any:
    """A JSON list (`["steps"]`) or comma-separated folders (`steps,more_steps`)."""
    if isinstance(value, str) and not value.strip().startswith("["):
        return [part.strip() for part in value.split(",") if part.strip()]
    parsed = _json_value(value)
    return ["steps"] if parsed is None else parsed


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _kuerzel(value: Any) -> str:
    kuerzel = str(value).strip().upper()
    if not (kuerzel.isalnum() and len(kuerzel) <= 10):
        raise ValueError("a Kürzel is 1-10 letters or digits")
    return kuerzel


def _kuerzel_list(value: Any) -> Any:
    """Comma-separated Kürzel (`SB,AI`), upper-cased; empty: none."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return items
    return tuple(_kuerzel(k) for k in items if str(k).strip())


def _kuerzel_map(value: Any) -> Any:
    """A JSON object Kürzel -> text, keys upper-cased."""
    parsed = _json_value(value)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise ValueError('must be a JSON object such as {"SB": "espocrm-user-id"}')
    return {_kuerzel(k): v for k, v in parsed.items()}


def _time_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/Berlin or UTC") from None
    return value


HttpUrlStr = Annotated[str, AfterValidator(_http_url)]
Port = Annotated[int, Field(ge=1, le=65535)]
OptionalPort = Annotated[int, Field(ge=0, le=65535)]  # 0 = off
Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
AtLeastOne = Annotated[int, Field(ge=1)]
SecretMap = Annotated[dict[str, SecretStr], NoDecode, BeforeValidator(_json_map)]
DirList = Annotated[list[str], NoDecode, BeforeValidator(_dir_list)]
KuerzelList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_kuerzel_list)]
KuerzelMap = Annotated[dict[str, str], NoDecode, BeforeValidator(_kuerzel_map)]

# What the simulators listen on by default: a production setting left at one of these talks to
# nothing real (warned at start-up, see `settings_warnings`).
SIMULATOR_DEFAULTS = {
    "ESPOCRM_API_BASE_URL": "http://127.0.0.1:8081/api/v1",
    "ADVOWARE_API_BASE_URL": "http://127.0.0.1:8082/",
    "ADVOWARE_TOKEN_URL": "http://127.0.0.1:8082/api/v1/Token",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    # -- files -------------------------------------------------------------------------------
    # Relative ENGINE_DB_PATH, SQLite DATABASE_URL and SIMULATOR_SNAPSHOT_DIR live in here.
    data_dir: Path = Field(Path("data"), alias="DATA_DIR")

    # -- engine ------------------------------------------------------------------------------
    engine_backend: Literal["embedded", "redis"] = Field("embedded", alias="ENGINE_BACKEND")
    engine_db_path: Path = Field(Path("engine.db"), alias="ENGINE_DB_PATH")
    # URLs may carry a password: SecretStr keeps them out of reprs and logs.
    redis_url: Annotated[SecretStr, AfterValidator(_redis_url)] = Field(
        SecretStr("redis://127.0.0.1:6379/1"), alias="REDIS_URL"
    )
    redis_prefix: str = Field("bitbylaw", alias="REDIS_PREFIX")
    steps_dirs: DirList = Field(default_factory=lambda: ["steps"], alias="STEPS_DIRS")
    http_host: str = Field("127.0.0.1", alias="HTTP_HOST")
    http_port: Port = Field(3000, alias="HTTP_PORT")
    http_max_body_bytes: AtLeastOne = Field(1024 * 1024, alias="HTTP_MAX_BODY_BYTES")
    http_request_timeout_seconds: Positive = Field(60.0, alias="HTTP_REQUEST_TIMEOUT_SECONDS")
    # Worker-only processes serve /metrics and /health on this port (0 = not at all).
    worker_metrics_port: OptionalPort = Field(3001, alias="WORKER_METRICS_PORT")
    shutdown_grace_seconds: Positive = Field(30.0, alias="SHUTDOWN_GRACE_SECONDS")
    visibility_timeout_seconds: Positive = Field(60.0, alias="VISIBILITY_TIMEOUT_SECONDS")
    # Cron expressions are read as wall-clock times of this zone (DST-aware).
    cron_timezone: Annotated[str, AfterValidator(_time_zone)] = Field("Europe/Berlin", alias="CRON_TIMEZONE")
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = Field("INFO", alias="LOG_LEVEL")
    health_dead_letter_threshold: Count = Field(1, alias="HEALTH_DEAD_LETTER_THRESHOLD")
    health_permanently_failed_threshold: Count = Field(1, alias="HEALTH_PERMANENTLY_FAILED_THRESHOLD")

    # -- service database (sync state, intents, audit) ------------------------------------------
    database_url: Annotated[SecretStr, AfterValidator(_database_url)] = Field(
        SecretStr("sqlite:///service.db"), alias="DATABASE_URL"
    )
    audit_retention_days: AtLeastOne = Field(180, alias="AUDIT_RETENTION_DAYS")
    audit_show_values: bool = Field(False, alias="AUDIT_SHOW_VALUES")
    # -- party sync (each documented in .env.example) -----------------------------------------
    beteiligte_cron: str = Field("*/15 * * * *", alias="BETEILIGTE_CRON")
    beteiligte_stale_hours: Positive = Field(24.0, alias="BETEILIGTE_STALE_HOURS")
    beteiligte_deleted_recheck_hours: Positive = Field(24.0, alias="BETEILIGTE_DELETED_RECHECK_HOURS")
    # Per-party lock, renewed by its holder every third of the TTL: a crashed holder frees it
    # within one TTL.
    beteiligte_lock_ttl_seconds: Positive = Field(60.0, alias="BETEILIGTE_LOCK_TTL_SECONDS")
    beteiligte_lock_retry_initial_seconds: Positive = Field(
        2.0, alias="BETEILIGTE_LOCK_RETRY_INITIAL_SECONDS"
    )
    beteiligte_lock_retry_max_seconds: Positive = Field(30.0, alias="BETEILIGTE_LOCK_RETRY_MAX_SECONDS")
    beteiligte_adopt_existing: bool = Field(True, alias="BETEILIGTE_ADOPT_EXISTING")
    beteiligte_conflict_policy: Literal["espocrm_wins", "advoware_wins"] = Field(
        "espocrm_wins", alias="BETEILIGTE_CONFLICT_POLICY"
    )
    sync_retry_schedule_minutes: str = Field("1,5,15,60,240", alias="SYNC_RETRY_SCHEDULE_MINUTES")
    sync_max_failures: AtLeastOne = Field(5, alias="SYNC_MAX_FAILURES")
    sync_auto_reset_hours: Positive = Field(24.0, alias="SYNC_AUTO_RESET_HOURS")
    # A bank account whose party has no betnr yet: the party's check is enqueued and the account
    # job runs again after this delay, at most this many times, then it is `failed` (SYNC_RULES §4).
    bank_party_wait_seconds: Positive = Field(60.0, alias="BANK_PARTY_WAIT_SECONDS")
    bank_party_wait_max_tries: AtLeastOne = Field(10, alias="BANK_PARTY_WAIT_MAX_TRIES")
    # /health is `degraded` while a party lock is held longer than this (a stuck sync).
    health_locked_seconds: Positive = Field(600.0, alias="HEALTH_LOCKED_SECONDS")

    # -- EspoCRM -----------------------------------------------------------------------------
    espocrm_api_base_url: HttpUrlStr = Field(
        SIMULATOR_DEFAULTS["ESPOCRM_API_BASE_URL"], alias="ESPOCRM_API_BASE_URL"
    )
    espocrm_api_key: SecretStr = Field(SecretStr(""), alias="ESPOCRM_API_KEY")
    espocrm_secret_key: SecretStr = Field(SecretStr(""), alias="ESPOCRM_SECRET_KEY")
    # One secret for all webhooks, or a JSON map {"webhookId": "secret", ...}.
    espocrm_webhook_secret: SecretStr = Field(SecretStr(""), alias="ESPOCRM_WEBHOOK_SECRET")
    espocrm_webhook_secrets: SecretMap = Field(default_factory=dict, alias="ESPOCRM_WEBHOOK_SECRETS")
    espocrm_admin_user_id: str = Field("1", alias="ESPOCRM_ADMIN_USER_ID")
    espocrm_timeout_seconds: Positive = Field(30.0, alias="ESPOCRM_TIMEOUT_SECONDS")
    espocrm_max_requests_per_second: Positive = Field(50.0, alias="ESPOCRM_MAX_REQUESTS_PER_SECOND")
    service_public_url: HttpUrlStr = Field("http://127.0.0.1:3000", alias="SERVICE_PUBLIC_URL")

    # -- Advoware ----------------------------------------------------------------------------
    advoware_api_base_url: HttpUrlStr = Field(
        SIMULATOR_DEFAULTS["ADVOWARE_API_BASE_URL"], alias="ADVOWARE_API_BASE_URL"
    )
    advoware_token_url: HttpUrlStr = Field(
        SIMULATOR_DEFAULTS["ADVOWARE_TOKEN_URL"], alias="ADVOWARE_TOKEN_URL"
    )
    advoware_app_id: str = Field("bitbylaw", alias="ADVOWARE_APP_ID")
    advoware_product_id: int = Field(64, alias="ADVOWARE_PRODUCT_ID")
    advoware_kanzlei: str = Field("", alias="ADVOWARE_KANZLEI")
    advoware_database: str = Field("", alias="ADVOWARE_DATABASE")
    advoware_user: str = Field("", alias="ADVOWARE_USER")
    advoware_role: int = Field(2, alias="ADVOWARE_ROLE")
    advoware_password: SecretStr = Field(SecretStr(""), alias="ADVOWARE_PASSWORD")
    advoware_api_key: SecretStr = Field(SecretStr(""), alias="ADVOWARE_API_KEY")  # base64 HMAC key
    advoware_token_lifetime_minutes: Positive = Field(55.0, alias="ADVOWARE_TOKEN_LIFETIME_MINUTES")
    advoware_timeout_seconds: Positive = Field(30.0, alias="ADVOWARE_TIMEOUT_SECONDS")
    advoware_max_requests_per_second: Positive = Field(20.0, alias="ADVOWARE_MAX_REQUESTS_PER_SECOND")

    # -- Google Calendar ---------------------------------------------------------------------
    google_api_base_url: HttpUrlStr = Field("http://127.0.0.1:8083/calendar/v3", alias="GOOGLE_API_BASE_URL")
    google_token_url: HttpUrlStr = Field("http://127.0.0.1:8083/token", alias="GOOGLE_TOKEN_URL")
    google_service_account_file: Path | None = Field(None, alias="GOOGLE_SERVICE_ACCOUNT_FILE")
    google_calendar_timezone: Annotated[str, AfterValidator(_time_zone)] = Field(
        "Europe/Berlin", alias="GOOGLE_CALENDAR_TIMEZONE"
    )
    google_timeout_seconds: Positive = Field(30.0, alias="GOOGLE_TIMEOUT_SECONDS")
    google_max_requests_per_second: Positive = Field(10.0, alias="GOOGLE_MAX_REQUESTS_PER_SECOND")

    # -- calendar sync -----------------------------------------------------------------------
    calendar_cron: str = Field("*/15 * * * *", alias="CALENDAR_CRON")
    calendar_sync_past_days: Count = Field(30, alias="CALENDAR_SYNC_PAST_DAYS")
    calendar_sync_future_days: Count = Field(365, alias="CALENDAR_SYNC_FUTURE_DAYS")
    # Comma-separated Kürzel (upper-cased); empty: every active employee.
    calendar_sync_kuerzel: KuerzelList = Field((), alias="CALENDAR_SYNC_KUERZEL")
    # JSON map Kürzel -> EspoCRM user id notified about that employee's calendar (else the admin).
    calendar_notify_users: KuerzelMap = Field(default_factory=dict, alias="CALENDAR_NOTIFY_USERS")
    calendar_lock_ttl_seconds: Positive = Field(60.0, alias="CALENDAR_LOCK_TTL_SECONDS")
    calendar_google_deletes: Literal["restore", "propagate"] = Field(
        "restore", alias="CALENDAR_GOOGLE_DELETES"
    )
    calendar_mass_change_max_events: Count = Field(20, alias="CALENDAR_MASS_CHANGE_MAX_EVENTS")
    calendar_mass_change_max_percent: Annotated[float, Field(ge=0, le=100)] = Field(
        25.0, alias="CALENDAR_MASS_CHANGE_MAX_PERCENT"
    )
    # owner: every calendar in GOOGLE_CALENDAR_OWNER's account, shared with its employee by ACL;
    # employee: each calendar in the employee's own account (subject = Mitarbeiter email).
    google_delegation: Literal["owner", "employee"] = Field("owner", alias="GOOGLE_DELEGATION")
    google_calendar_owner: str = Field("", alias="GOOGLE_CALENDAR_OWNER")

    # -- Advoware proxy and other authenticated endpoints ----------------------------------------
    # Comma-separated keys accepted in X-API-Key / apikey / Authorization: Bearer.
    proxy_api_keys: SecretStr = Field(SecretStr(""), alias="PROXY_API_KEYS")
    proxy_max_body_bytes: AtLeastOne = Field(1024 * 1024, alias="PROXY_MAX_BODY_BYTES")
    proxy_timeout_seconds: Positive = Field(30.0, alias="PROXY_TIMEOUT_SECONDS")
    proxy_max_path_length: AtLeastOne = Field(512, alias="PROXY_MAX_PATH_LENGTH")
    # Comma-separated; only paths under these reach Advoware (its token path never does).
    proxy_allowed_prefixes: str = Field("api/v1/advonet/", alias="PROXY_ALLOWED_PREFIXES")

    # -- operator console (/console on api processes) --------------------------------------------
    # The operators' password; empty = no console.
    console_password: SecretStr = Field(SecretStr(""), alias="CONSOLE_PASSWORD")
    console_session_hours: Positive = Field(8.0, alias="CONSOLE_SESSION_HOURS")
    # Send the session cookie over HTTPS only (off only for plain-HTTP trials on 127.0.0.1).
    console_cookie_secure: bool = Field(True, alias="CONSOLE_COOKIE_SECURE")
    console_refresh_seconds: Annotated[float, Field(ge=1)] = Field(5.0, alias="CONSOLE_REFRESH_SECONDS")
    # Failed logins per client address within 15 minutes before logins are refused for the rest.
    console_max_login_failures: AtLeastOne = Field(10, alias="CONSOLE_MAX_LOGIN_FAILURES")

    # -- HTTP edge: deadlines, connection cap, bounded JSON --------------------------------------
    http_head_timeout_seconds: Positive = Field(10.0, alias="HTTP_HEAD_TIMEOUT_SECONDS")
    http_body_timeout_seconds: Positive = Field(60.0, alias="HTTP_BODY_TIMEOUT_SECONDS")
    http_keepalive_timeout_seconds: Positive = Field(75.0, alias="HTTP_KEEPALIVE_TIMEOUT_SECONDS")
    http_max_connections: AtLeastOne = Field(512, alias="HTTP_MAX_CONNECTIONS")
    http_json_max_depth: AtLeastOne = Field(64, alias="HTTP_JSON_MAX_DEPTH")
    http_json_max_number_length: AtLeastOne = Field(100, alias="HTTP_JSON_MAX_NUMBER_LENGTH")

    # -- simulators --------------------------------------------------------------------------
    simulator_host: str = Field("127.0.0.1", alias="SIMULATOR_HOST")
    simulator_espocrm_port: Port = Field(8081, alias="SIMULATOR_ESPOCRM_PORT")
    simulator_advoware_port: Port = Field(8082, alias="SIMULATOR_ADVOWARE_PORT")
    simulator_google_port: Port = Field(8083, alias="SIMULATOR_GOOGLE_PORT")
    simulator_snapshot_dir: Path | None = Field(None, alias="SIMULATOR_SNAPSHOT_DIR")

    @field_validator("sync_retry_schedule_minutes")
    @classmethod
    def _schedule(cls, value: str) -> str:
        try:
            steps = [float(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise ValueError("comma-separated minutes, e.g. 1,5,15,60,240") from None
        if not steps or any(v <= 0 for v in steps):
            raise ValueError("at least one positive number of minutes")
        return value

    @model_validator(mode="after")
    def _calendar_owner_for_owner_mode(self) -> Settings:
        if (
            self.google_service_account_file
            and self.google_delegation == "owner"
            and not self.google_calendar_owner
        ):
            raise ValueError("GOOGLE_CALENDAR_OWNER is required when GOOGLE_DELEGATION=owner")
        return self

    def retry_schedule(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.sync_retry_schedule_minutes.split(",") if v.strip())

    # Folder a relative DATA_DIR is taken from: the settings file's, else the working directory.
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    def proxy_keys(self) -> list[str]:
        raw = self.proxy_api_keys.get_secret_value()
        return [k.strip() for k in raw.split(",") if k.strip()]

    # -- resolved paths (what the code opens; the fields keep what the operator wrote) ---------
    def data_path(self) -> Path:
        return self.data_dir if self.data_dir.is_absolute() else (self._base_dir / self.data_dir).resolve()

    def in_data_dir(self, path: Path) -> Path:
        return path if path.is_absolute() else self.data_path() / path

    def engine_db_file(self) -> Path:
        return self.in_data_dir(self.engine_db_path)

    def snapshot_dir(self) -> Path | None:
        return None if self.simulator_snapshot_dir is None else self.in_data_dir(self.simulator_snapshot_dir)

    def service_database_url(self) -> str:
        """DATABASE_URL with a relative SQLite file placed in DATA_DIR."""
        url = self.database_url.get_secret_value()
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            return f"sqlite:///{self.in_data_dir(Path(url[len('sqlite:///') :]))}"
        return url

    def with_base_dir(self, base: Path) -> Settings:
        self._base_dir = base.resolve()
        return self


class SettingsError(RuntimeError):
    """Invalid settings. `problems` holds one line per bad setting: its env name and what is
    wrong, never its value (it may be a secret)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _env_name(field: str) -> str:
    info = Settings.model_fields.get(field)
    return str(info.alias) if info is not None and info.alias else field.upper()


def describe_errors(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings names them in its message
            lines.append(f"invalid settings: {message}")
            continue
        lines.append(f"invalid setting {_env_name(str(error['loc'][0]))}: {message}")
    return lines


def settings_file() -> Path:
    return Path(os.environ.get(ENV_FILE_VARIABLE) or ".env")


def load_settings(env_file: Path | None = None, **values: Any) -> Settings:
    """Settings from the environment and `env_file` (default: `settings_file()`); raises
    SettingsError with one line per bad setting."""
    explicit = env_file is not None or bool(os.environ.get(ENV_FILE_VARIABLE))
    path = env_file or settings_file()
    if explicit and not path.is_file():
        raise SettingsError([f"settings file {path} not found ({ENV_FILE_VARIABLE})"])
    try:
        settings = Settings(_env_file=path if path.is_file() else None, **values)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None
    except SourceError as exc:  # a source could not be read at all (not a field's value)
        raise SettingsError([f"invalid settings: {exc}"]) from None
    return settings.with_base_dir(path.parent if path.is_file() else Path.cwd())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def settings_warnings(settings: Settings) -> list[str]:
    """Production settings left empty or at a simulator's default: one line each (names only)."""
    out = []
    for name, default in SIMULATOR_DEFAULTS.items():
        if getattr(settings, name.lower()).rstrip("/") == default.rstrip("/"):
            out.append(f"{name} is the simulator's default ({default}): set the real system's URL")
    empty = [
        name
        for name in (
            "ESPOCRM_API_KEY",
            "ADVOWARE_KANZLEI",
            "ADVOWARE_DATABASE",
            "ADVOWARE_USER",
            "ADVOWARE_PASSWORD",
            "ADVOWARE_API_KEY",
        )
        if not _text_of(getattr(settings, name.lower()))
    ]
    if empty:
        out.append(f"{', '.join(empty)} empty: the sync cannot authenticate")
    if not settings.proxy_keys():
        out.append("PROXY_API_KEYS empty: the Advoware proxy refuses every caller")
    console_password = settings.console_password.get_secret_value()
    if console_password and len(console_password) < CONSOLE_PASSWORD_MIN_LENGTH:
        out.append(
            f"CONSOLE_PASSWORD is shorter than {CONSOLE_PASSWORD_MIN_LENGTH} characters: choose a longer one"
        )
    if not (settings.espocrm_webhook_secret.get_secret_value() or settings.espocrm_webhook_secrets):
        out.append(
            "ESPOCRM_WEBHOOK_SECRETS empty: webhooks are accepted unsigned "
            "(bitbylaw espocrm webhooks register prints the secrets)"
        )
    return out


def _text_of(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")
