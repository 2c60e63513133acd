"""Typed settings for every part of bitbylaw, read from the environment and `.env`.

Every field is documented in `.env.example`. Secrets, and URLs that may carry a password, are
`SecretStr`: their repr is masked. Each setting has one flat, explicit env name (what operators
type). `get_settings()` reports invalid settings by field name without echoing their values.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # -- engine ------------------------------------------------------------------------------
    engine_backend: Literal["embedded", "redis"] = Field("embedded", alias="ENGINE_BACKEND")
    engine_db_path: Path = Field(Path("data/engine.db"), alias="ENGINE_DB_PATH")
    # URLs may carry a password: SecretStr keeps them out of reprs and logs.
    redis_url: SecretStr = Field(SecretStr("redis://127.0.0.1:6379/1"), alias="REDIS_URL")
    redis_prefix: str = Field("bitbylaw", alias="REDIS_PREFIX")
    steps_dirs: list[str] = Field(default_factory=lambda: ["steps"], alias="STEPS_DIRS")
    http_host: str = Field("127.0.0.1", alias="HTTP_HOST")
    http_port: int = Field(3000, alias="HTTP_PORT")
    http_max_body_bytes: int = Field(1024 * 1024, alias="HTTP_MAX_BODY_BYTES")
    http_request_timeout_seconds: float = Field(60.0, alias="HTTP_REQUEST_TIMEOUT_SECONDS")
    shutdown_grace_seconds: float = Field(30.0, alias="SHUTDOWN_GRACE_SECONDS")
    visibility_timeout_seconds: float = Field(60.0, alias="VISIBILITY_TIMEOUT_SECONDS")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    health_dead_letter_threshold: int = Field(1, alias="HEALTH_DEAD_LETTER_THRESHOLD")
    health_permanently_failed_threshold: int = Field(1, alias="HEALTH_PERMANENTLY_FAILED_THRESHOLD")

    # -- service database (sync state, intents, audit) ------------------------------------------
    database_url: SecretStr = Field(SecretStr("sqlite:///data/service.db"), alias="DATABASE_URL")
    audit_retention_days: int = Field(180, alias="AUDIT_RETENTION_DAYS")
    audit_show_values: bool = Field(False, alias="AUDIT_SHOW_VALUES")
    # Per-party lock; a crashed holder blocks its party at most this long.
    beteiligte_lock_ttl_seconds: float = Field(900.0, alias="BETEILIGTE_LOCK_TTL_SECONDS")

    # -- EspoCRM -----------------------------------------------------------------------------
    espocrm_api_base_url: str = Field("http://127.0.0.1:8081/api/v1", alias="ESPOCRM_API_BASE_URL")
    espocrm_api_key: SecretStr = Field(SecretStr(""), alias="ESPOCRM_API_KEY")
    espocrm_secret_key: SecretStr = Field(SecretStr(""), alias="ESPOCRM_SECRET_KEY")
    # One secret for all webhooks, or a JSON map {"webhookId": "secret", ...}.
    espocrm_webhook_secret: SecretStr = Field(SecretStr(""), alias="ESPOCRM_WEBHOOK_SECRET")
    espocrm_webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict, alias="ESPOCRM_WEBHOOK_SECRETS"
    )
    espocrm_admin_user_id: str = Field("1", alias="ESPOCRM_ADMIN_USER_ID")
    espocrm_timeout_seconds: float = Field(30.0, alias="ESPOCRM_TIMEOUT_SECONDS")
    espocrm_max_requests_per_second: float = Field(50.0, alias="ESPOCRM_MAX_REQUESTS_PER_SECOND")
    service_public_url: str = Field("http://127.0.0.1:3000", alias="SERVICE_PUBLIC_URL")

    # -- Advoware ----------------------------------------------------------------------------
    advoware_api_base_url: str = Field("http://127.0.0.1:8082/", alias="ADVOWARE_API_BASE_URL")
    advoware_token_url: str = Field("http://127.0.0.1:8082/api/v1/Token", alias="ADVOWARE_TOKEN_URL")
    advoware_app_id: str = Field("bitbylaw", alias="ADVOWARE_APP_ID")
    advoware_product_id: int = Field(64, alias="ADVOWARE_PRODUCT_ID")
    advoware_kanzlei: str = Field("", alias="ADVOWARE_KANZLEI")
    advoware_database: str = Field("", alias="ADVOWARE_DATABASE")
    advoware_user: str = Field("", alias="ADVOWARE_USER")
    advoware_role: int = Field(2, alias="ADVOWARE_ROLE")
    advoware_password: SecretStr = Field(SecretStr(""), alias="ADVOWARE_PASSWORD")
    advoware_api_key: SecretStr = Field(SecretStr(""), alias="ADVOWARE_API_KEY")  # base64 HMAC key
    advoware_token_lifetime_minutes: float = Field(55.0, alias="ADVOWARE_TOKEN_LIFETIME_MINUTES")
    advoware_timeout_seconds: float = Field(30.0, alias="ADVOWARE_TIMEOUT_SECONDS")
    advoware_max_requests_per_second: float = Field(20.0, alias="ADVOWARE_MAX_REQUESTS_PER_SECOND")

    # -- Google Calendar ---------------------------------------------------------------------
    google_api_base_url: str = Field("http://127.0.0.1:8083/calendar/v3", alias="GOOGLE_API_BASE_URL")
    google_token_url: str = Field("http://127.0.0.1:8083/token", alias="GOOGLE_TOKEN_URL")
    google_service_account_file: Path | None = Field(None, alias="GOOGLE_SERVICE_ACCOUNT_FILE")
    google_calendar_timezone: str = Field("Europe/Berlin", alias="GOOGLE_CALENDAR_TIMEZONE")
    google_timeout_seconds: float = Field(30.0, alias="GOOGLE_TIMEOUT_SECONDS")
    google_max_requests_per_second: float = Field(10.0, alias="GOOGLE_MAX_REQUESTS_PER_SECOND")

    # -- calendar sync (SYNC_RULES §5, §8) --------------------------------------------------------
    calendar_cron: str = Field("*/15 * * * *", alias="CALENDAR_CRON")
    calendar_sync_past_days: int = Field(30, ge=0, alias="CALENDAR_SYNC_PAST_DAYS")
    calendar_sync_future_days: int = Field(365, ge=0, alias="CALENDAR_SYNC_FUTURE_DAYS")
    # Comma-separated Kürzel (upper-cased); empty: every active employee.
    calendar_sync_kuerzel: Annotated[tuple[str, ...], NoDecode] = Field((), alias="CALENDAR_SYNC_KUERZEL")
    # JSON map Kürzel -> EspoCRM user id notified about that employee's calendar (else the admin).
    calendar_notify_users: dict[str, str] = Field(default_factory=dict, alias="CALENDAR_NOTIFY_USERS")
    calendar_lock_ttl_seconds: float = Field(60.0, gt=0, alias="CALENDAR_LOCK_TTL_SECONDS")
    calendar_google_deletes: Literal["restore", "propagate"] = Field(
        "restore", alias="CALENDAR_GOOGLE_DELETES"
    )
    calendar_mass_change_max_events: int = Field(20, ge=0, alias="CALENDAR_MASS_CHANGE_MAX_EVENTS")
    calendar_mass_change_max_percent: float = Field(
        25.0, ge=0, le=100, alias="CALENDAR_MASS_CHANGE_MAX_PERCENT"
    )
    # owner: every calendar in GOOGLE_CALENDAR_OWNER's account, shared with its employee by ACL;
    # employee: each calendar in the employee's own account (subject = Mitarbeiter email).
    google_delegation: Literal["owner", "employee"] = Field("owner", alias="GOOGLE_DELEGATION")
    google_calendar_owner: str = Field("", alias="GOOGLE_CALENDAR_OWNER")

    @field_validator("calendar_sync_kuerzel", mode="before")
    @classmethod
    def _split_kuerzel(cls, value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return items
        kuerzel = tuple(str(k).strip().upper() for k in items if str(k).strip())
        bad = [k for k in kuerzel if not (k.isalnum() and len(k) <= 10)]
        if bad:
            raise ValueError("a Kürzel is 1-10 letters or digits")
        return kuerzel

    @field_validator("calendar_notify_users", mode="after")
    @classmethod
    def _upper_notify_keys(cls, value: dict[str, str]) -> dict[str, str]:
        return {k.strip().upper(): v for k, v in value.items()}

    @model_validator(mode="after")
    def _calendar_owner_for_owner_mode(self) -> Settings:
        if (
            self.google_service_account_file
            and self.google_delegation == "owner"
            and not self.google_calendar_owner
        ):
            raise ValueError("GOOGLE_CALENDAR_OWNER is required when GOOGLE_DELEGATION=owner")
        return self

    # -- Advoware proxy and other authenticated endpoints ----------------------------------------
    # Comma-separated keys accepted in X-API-Key / apikey / Authorization: Bearer.
    proxy_api_keys: SecretStr = Field(SecretStr(""), alias="PROXY_API_KEYS")
    proxy_max_body_bytes: int = Field(1024 * 1024, alias="PROXY_MAX_BODY_BYTES")
    proxy_timeout_seconds: float = Field(30.0, alias="PROXY_TIMEOUT_SECONDS")
    proxy_max_path_length: int = Field(512, alias="PROXY_MAX_PATH_LENGTH")

    # -- simulators --------------------------------------------------------------------------
    simulator_host: str = Field("127.0.0.1", alias="SIMULATOR_HOST")
    simulator_espocrm_port: int = Field(8081, alias="SIMULATOR_ESPOCRM_PORT")
    simulator_advoware_port: int = Field(8082, alias="SIMULATOR_ADVOWARE_PORT")
    simulator_google_port: int = Field(8083, alias="SIMULATOR_GOOGLE_PORT")
    simulator_snapshot_dir: Path | None = Field(None, alias="SIMULATOR_SNAPSHOT_DIR")

    def proxy_keys(self) -> list[str]:
        raw = self.proxy_api_keys.get_secret_value()
        return [k.strip() for k in raw.split(",") if k.strip()]


class SettingsError(RuntimeError):
    """Invalid settings; the message names the fields, never their values (they may be secrets)."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False)]
        raise SettingsError("invalid settings:\n  - " + "\n  - ".join(problems)) from None
