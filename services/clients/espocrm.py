"""Client of the EspoCRM REST API (EXTERNAL_SYSTEMS 2): records of any entity, paged lists,
notifications and webhook subscriptions.

Auth is the API user's `X-Api-Key`, or HMAC (`X-Hmac-Authorization`) when a secret key is set.
Lists never ask for more than 200 records per call (more answers 403, E8); `iter_all` pages
through everything instead of silently stopping at one page, the old cron's bug.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from services.clients import espocrm_paths as paths
from services.clients.base import ClientBase
from services.clients.errors import NotFound
from services.clients.retry import RetryPolicy
from services.clients.session import SessionSource
from services.clients.transport import HttpRequest, RawResponse

JsonDict = dict[str, Any]
MAX_PAGE_SIZE = 200  # recordListMaxSizeLimit: EspoCRM answers 403 above it (E8)
WhereStyle = Literal["searchParams", "nested"]


class EspoCrmSettings(Protocol):
    espocrm_api_base_url: str
    espocrm_api_key: SecretStr
    espocrm_secret_key: SecretStr
    espocrm_timeout_seconds: float
    espocrm_max_requests_per_second: float


def hmac_header(api_key: str, secret_key: str, method: str, uri: str) -> str:
    """`base64(apiKey + ":" + HMAC_SHA256(secret, METHOD + " /" + uri))`, raw digest, where `uri`
    is the path after `api/v1/` without the query string (EXTERNAL_SYSTEMS 2.1)."""
    digest = hmac.new(secret_key.encode(), f"{method} /{uri}".encode(), hashlib.sha256).digest()
    return base64.b64encode(api_key.encode() + b":" + digest).decode("ascii")


class EspoCrmClient(ClientBase):
    system = "espocrm"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr,
        session: SessionSource,
        secret_key: SecretStr | None = None,
        timeout_s: float = 30.0,
        max_requests_per_second: float = 50.0,
        retry: RetryPolicy | None = None,
        burst: float | None = None,
        where_style: WhereStyle = "searchParams",
    ) -> None:
        super().__init__(
            base_url=base_url,
            session=session,
            timeout_s=timeout_s,
            max_requests_per_second=max_requests_per_second,
            retry=retry,
            burst=burst,
        )
        self._api_key = api_key
        self._secret_key = secret_key if secret_key and secret_key.get_secret_value() else None
        self._where_style = where_style
        self._base_path = urlsplit(base_url).path.rstrip("/")

    @classmethod
    def from_settings(
        cls, settings: EspoCrmSettings, session: SessionSource, token_cache: Any = None, **overrides: Any
    ) -> EspoCrmClient:
        """`token_cache` is accepted for a uniform signature; EspoCRM needs no token."""
        kwargs: dict[str, Any] = {
            "base_url": settings.espocrm_api_base_url,
            "api_key": settings.espocrm_api_key,
            "secret_key": settings.espocrm_secret_key,
            "session": session,
            "timeout_s": settings.espocrm_timeout_seconds,
            "max_requests_per_second": settings.espocrm_max_requests_per_second,
        }
        return cls(**{**kwargs, **overrides})

    # -- auth -------------------------------------------------------------------------------------
    async def _exchange(self, req: HttpRequest, attempt: int) -> RawResponse:
        # HMAC signs method and path, so the header is built per request, not per client.
        return await self.transport.send(req.with_headers(self._auth_for(req)), attempt)

    def _auth_for(self, req: HttpRequest) -> dict[str, str]:
        api_key = self._api_key.get_secret_value()
        if self._secret_key is None:
            return {"X-Api-Key": api_key}
        # Signed over the decoded path after `api/v1/`, as the server sees it.
        uri = unquote(urlsplit(req.url).path[len(self._base_path) :].lstrip("/"))
        secret = self._secret_key.get_secret_value()
        return {"X-Hmac-Authorization": hmac_header(api_key, secret, req.method, uri)}

    # -- records ----------------------------------------------------------------------------------
    async def get(self, entity: str, record_id: str, select: Sequence[str] | None = None) -> JsonDict:
        route = paths.ENTITY.partial(entity=entity)
        params = {"select": ",".join(select) if select else None}
        return _dict(
            await self._call(self._request("GET", route.template, route.path(id=record_id), params=params))
        )

    async def create(self, entity: str, data: JsonDict) -> JsonDict:
        """Raises OutcomeUnknown after a timeout/5xx (the record may exist now)."""
        route = paths.ENTITY_LIST.partial(entity=entity)
        return _dict(await self._call(self._request("POST", route.template, route.path(), json_body=data)))

    async def update(self, entity: str, record_id: str, data: JsonDict) -> JsonDict:
        """Partial PUT: only the given attributes change (E11); returns the full record."""
        route = paths.ENTITY.partial(entity=entity)
        req = self._request("PUT", route.template, route.path(id=record_id), json_body=data)
        return _dict(await self._call(req))

    async def delete(self, entity: str, record_id: str) -> None:
        route = paths.ENTITY.partial(entity=entity)
        await self._call(self._request("DELETE", route.template, route.path(id=record_id)))

    async def list(
        self,
        entity: str,
        where: Sequence[JsonDict] | None = None,
        select: Sequence[str] | None = None,
        order_by: str | None = None,
        order: Literal["asc", "desc"] = "asc",
        offset: int = 0,
        max_size: int = MAX_PAGE_SIZE,
    ) -> JsonDict:
        """One page: `{"total": n, "list": [...]}`. `max_size` above 200 is refused here."""
        if not 0 < max_size <= MAX_PAGE_SIZE:
            raise ValueError(f"max_size must be 1..{MAX_PAGE_SIZE} (EspoCRM answers 403 above)")
        route = paths.ENTITY_LIST.partial(entity=entity)
        params = self._list_params(where, select, order_by, order, offset, max_size)
        body = _dict(await self._call(self._request("GET", route.template, route.path(), params=params)))
        return {"total": int(body.get("total", 0)), "list": list(body.get("list") or [])}

    async def list_linked(
        self, entity: str, record_id: str, link: str, max_size: int = MAX_PAGE_SIZE
    ) -> Sequence[JsonDict]:
        """The records linked to one record (`GET {entity}/{id}/{link}`), e.g. a party's
        addresses, page by page until all are read."""
        route = paths.LINKED.partial(entity=entity, link=link)
        records: list[JsonDict] = []
        while True:
            params = {"offset": len(records), "maxSize": max_size}
            req = self._request("GET", route.template, route.path(id=record_id), params=params)
            body = _dict(await self._call(req))
            page = list(body.get("list") or [])
            records += page
            if len(page) < max_size or len(records) >= int(body.get("total", 0)):
                return records

    async def iter_all(
        self,
        entity: str,
        where: Sequence[JsonDict] | None = None,
        select: Sequence[str] | None = None,
        order_by: str = "id",
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[JsonDict]:
        """Every matching record, page by page (offset paging in a stable order). A caller that
        changes records so they leave the filter while iterating shifts later pages: collect
        the ids first in that case."""
        offset = 0
        while True:
            page = await self.list(entity, where, select, order_by, "asc", offset, page_size)
            for record in page["list"]:
                yield record
            offset += len(page["list"])
            if len(page["list"]) < page_size or offset >= page["total"]:
                return

    def _list_params(
        self,
        where: Sequence[JsonDict] | None,
        select: Sequence[str] | None,
        order_by: str | None,
        order: str,
        offset: int,
        max_size: int,
    ) -> dict[str, Any]:
        base: dict[str, Any] = {"offset": offset, "maxSize": max_size}
        if select:
            base["select"] = ",".join(select)
        if order_by:
            base["orderBy"], base["order"] = order_by, order
        if self._where_style == "searchParams":
            search = {**base, "where": list(where or [])}
            return {"searchParams": json.dumps(search, separators=(",", ":"))}
        return {**base, **nested_where(where or [])}

    # -- notifications and webhooks ---------------------------------------------------------------
    async def notify(
        self,
        user_id: str,
        message: str,
        related_type: str | None = None,
        related_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> JsonDict:
        """An in-app message to a user. Not a data call (DECISIONS 11). A retry after an unclear
        outcome could notify twice, so like any POST it is not retried then (OutcomeUnknown).
        `data` tells notices apart: kind, entity, id, the Advoware id (SYNC_RULES §7)."""
        body: JsonDict = {"type": "Message", "userId": user_id, "message": message}
        if related_type and related_id:
            body |= {"relatedType": related_type, "relatedId": related_id}
        if data:
            body["data"] = dict(data)
        route = paths.NOTIFICATION
        req = self._request("POST", route.template, route.path(), json_body=body, data=False)
        return _dict(await self._call(req))

    async def create_webhook(self, event: str, url: str, skip_own: bool = True) -> JsonDict:
        """Subscribe; answers `{"id", "secretKey", ...}`. `skipOwn` keeps the service's own
        writes from firing webhooks (E4)."""
        route = paths.WEBHOOKS
        body = {"event": event, "url": url, "skipOwn": skip_own}
        return _dict(await self._call(self._request("POST", route.template, route.path(), json_body=body)))

    async def delete_webhook(self, webhook_id: str) -> None:
        route = paths.WEBHOOK
        await self._call(self._request("DELETE", route.template, route.path(id=webhook_id)))

    async def list_webhooks(self) -> Sequence[JsonDict]:
        """Every subscription the API user may see (its own, for a non-admin API user)."""
        return [hook async for hook in self.iter_all("Webhook")]

    async def update_webhook(self, webhook_id: str, data: JsonDict) -> JsonDict:
        """Change url, skipOwn or isActive; EspoCRM keeps event and secret fixed."""
        return await self.update("Webhook", webhook_id, data)

    async def entity_fields(self, entity: str) -> set[str]:
        """The field names EspoCRM defines for `entity` (`GET Metadata`); NotFound when it
        defines no such entity."""
        route = paths.METADATA
        body = _dict(await self._call(self._request("GET", route.template, route.path())))
        defs = (body.get("entityDefs") or {}).get(entity)
        if not isinstance(defs, dict):
            raise NotFound(self.system, "GET", route.template, 404, f"EspoCRM defines no entity {entity}")
        return set(defs.get("fields") or {})

    async def current_user_id(self) -> str:
        """The id of the API user these credentials belong to (`GET App/user`): also the
        cheapest call that proves the credentials work."""
        route = paths.APP_USER
        body = _dict(await self._call(self._request("GET", route.template, route.path())))
        return str((body.get("user") or {}).get("id", ""))


def nested_where(where: Sequence[JsonDict], prefix: str = "where") -> dict[str, str]:
    """`where` as nested query parameters (`where[0][type]=equals&where[0][attribute]=…`)."""
    out: dict[str, str] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}[{k}]")
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")
        elif value is not None:
            out[key] = str(value).lower() if isinstance(value, bool) else str(value)

    walk(list(where), prefix)
    return out


def _dict(body: Any) -> JsonDict:
    return body if isinstance(body, dict) else {}
