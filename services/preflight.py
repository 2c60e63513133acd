"""Pre-flight checks of a configuration against the systems it names (`bitbylaw check`).

Each check answers one question with a `Check`: ok, warn, fail or skip, what was found, and
for anything but ok the fix. Checks only read (the one exception: none). Results name settings,
hosts and counts, never a secret.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from services import webhook_subscriptions as subs
from services.clients.errors import ApiError, NotFound, TransportError, Unauthorized

Verdict = Literal["ok", "warn", "fail", "skip"]

# The fields the sync writes on CBeteiligte (docs/operations.md, "First start").
BETEILIGTE_BOOKKEEPING = (
    "betnr",
    "syncStatus",
    "advowareLastSync",
    "advowareRowId",
    "syncErrorMessage",
    "syncRetryCount",
    "syncNextRetry",
    "syncAutoResetAt",
    "advowareDeletedAt",
)


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""


def _api_problem(name: str, exc: ApiError, url_setting: str, credentials: str) -> Check:
    if isinstance(exc, TransportError):
        return Check(name, "fail", f"unreachable ({exc.message.split(': ', 1)[-1]})", f"check {url_setting}")
    if isinstance(exc, Unauthorized) or exc.status == 403:
        return Check(name, "fail", f"credentials refused (HTTP {exc.status})", f"check {credentials}")
    return Check(
        name, "fail", f"answered HTTP {exc.status} ({exc.method} {exc.route})", f"check {url_setting}"
    )


async def check_espocrm(crm: Any, base_url: str) -> Check:
    name = "EspoCRM reachable with the API key"
    try:
        user = await crm.current_user_id()
    except ApiError as exc:
        return _api_problem(name, exc, "ESPOCRM_API_BASE_URL", "ESPOCRM_API_KEY / ESPOCRM_SECRET_KEY")
    return Check(name, "ok", f"{base_url} as API user {user}")


async def check_bookkeeping_fields(crm: Any, entity: str = "CBeteiligte") -> Check:
    """The entity exists and has the fields the sync writes (EspoCRM's metadata)."""
    name = f"{entity} has the sync's bookkeeping fields"
    try:
        fields = await crm.entity_fields(entity)
    except NotFound:
        return Check(name, "fail", f"EspoCRM has no entity {entity}", "create the entity in EspoCRM")
    except ApiError as exc:
        return _api_problem(
            name, exc, "ESPOCRM_API_BASE_URL", "ESPOCRM_API_KEY (the API user needs metadata)"
        )
    missing = [f for f in BETEILIGTE_BOOKKEEPING if f not in fields]
    if missing:
        return Check(
            name,
            "fail",
            f"missing: {', '.join(missing)}",
            f"add them to {entity} in EspoCRM's entity manager",
        )
    return Check(name, "ok", f"all {len(BETEILIGTE_BOOKKEEPING)} present")


async def check_webhooks(crm: Any, public_url: str, secret_ids: Sequence[str], one_secret: bool) -> Check:
    name = "webhooks registered"
    try:
        ours = await subs.our_subscriptions(crm)
    except ApiError as exc:
        return _api_problem(name, exc, "ESPOCRM_API_BASE_URL", "ESPOCRM_API_KEY")
    wanted = subs.wanted_subscriptions(public_url)
    fix = "bitbylaw espocrm webhooks register"
    have = {(s.event, s.url) for s in ours if s.active and s.skip_own}
    missing = [w.event for w in wanted if (w.event, w.url) not in have]
    if missing:
        return Check(name, "fail", f"missing or outdated at {public_url}: {', '.join(missing)}", fix)
    extra = len(ours) - len(wanted)
    if extra > 0:
        return Check(
            name, "warn", f"{extra} duplicate subscription(s): each event arrives more than once", fix
        )
    unsigned = [s.id for s in ours if s.id not in secret_ids] if not one_secret else []
    if unsigned:
        return Check(
            name,
            "fail",
            f"no secret in the settings for webhook(s) {', '.join(unsigned)}: they would be refused (401)",
            f"{fix} prints the ESPOCRM_WEBHOOK_SECRETS line",
        )
    return Check(name, "ok", f"{len(wanted)} subscription(s) with skipOwn at {public_url}")


async def check_advoware(advo: Any) -> Check:
    name = "Advoware token obtained"
    credentials = "ADVOWARE_* credentials (app id, user, password, API key)"
    try:
        await advo.tokens.token()
    except ApiError as exc:
        return _api_problem(name, exc, "ADVOWARE_TOKEN_URL", credentials)
    except ValueError as exc:  # e.g. ADVOWARE_API_KEY is not base64: the request cannot be signed
        return Check(
            name, "fail", f"cannot sign the token request ({type(exc).__name__})", f"check {credentials}"
        )
    return Check(name, "ok", "the security gateway issued a token")


async def check_database(db: Any) -> Check:
    name = "service database migrated"
    pending = await db.pending_migrations()
    if pending:
        return Check(
            name,
            "warn",
            f"pending: {', '.join(pending)}",
            "bitbylaw db migrate (the service also migrates at start)",
        )
    return Check(name, "ok", f"{db.dialect} database up to date")


def check_google_credentials(path: Path | None) -> Check:
    name = "Google service-account key"
    if path is None:
        return Check(name, "skip", "GOOGLE_SERVICE_ACCOUNT_FILE not set")
    fix = "set GOOGLE_SERVICE_ACCOUNT_FILE to the service account's JSON key"
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return Check(name, "fail", f"{path}: {(exc.strerror or type(exc).__name__).lower()}", fix)
    except ValueError:
        return Check(name, "fail", f"{path} is not JSON", fix)
    missing = [k for k in ("type", "client_email", "private_key", "token_uri") if not key.get(k)]
    if missing or key.get("type") != "service_account":
        return Check(
            name,
            "fail",
            f"{path} is not a service-account key (missing: {', '.join(missing) or 'type'})",
            fix,
        )
    return Check(name, "ok", f"{path} ({key['client_email']})")
