"""Client of the Advoware API (EXTERNAL_SYSTEMS 1): parties (Beteiligte) and their
Kommunikation entries, addresses and bank accounts, employees and appointments (Termine).

Shapes are normalised at this boundary: a party GET may answer with a one-element list (A4), a
party PUT always does (A3), a POST answers with an object whose `rowId` may be missing (A5).
Field names stay as Advoware spells them (`betNr`, `kommKz`, `reihenfolgeIndex`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

from pydantic import SecretStr

from services.clients import advoware_paths as paths
from services.clients.advoware_auth import AdvowareCredentials, token_request_body
from services.clients.base import ClientBase
from services.clients.errors import ApiError, NotFound
from services.clients.retry import RetryPolicy, with_retries
from services.clients.routes import Route, template_for
from services.clients.session import SessionSource
from services.clients.tokens import TokenCache, TokenManager
from services.clients.transport import HttpRequest, RawResponse
from services.proxy import validate_proxy_path

JsonDict = dict[str, Any]


class AdvowareSettings(Protocol):
    advoware_api_base_url: str
    advoware_token_url: str
    advoware_app_id: str
    advoware_product_id: int
    advoware_kanzlei: str
    advoware_database: str
    advoware_user: str
    advoware_role: int
    advoware_password: SecretStr
    advoware_api_key: SecretStr
    advoware_token_lifetime_minutes: float
    advoware_timeout_seconds: float
    advoware_max_requests_per_second: float


class AdvowareClient(ClientBase):
    system = "advoware"

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        credentials: AdvowareCredentials,
        session: SessionSource,
        token_cache: TokenCache,
        token_lifetime_s: float = 55 * 60,
        timeout_s: float = 30.0,
        max_requests_per_second: float = 20.0,
        retry: RetryPolicy | None = None,
        burst: float | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            session=session,
            timeout_s=timeout_s,
            max_requests_per_second=max_requests_per_second,
            retry=retry,
            burst=burst,
        )
        self._token_url = token_url
        self._credentials = credentials
        self.tokens = TokenManager(token_cache, self._fetch_token, token_lifetime_s)

    @classmethod
    def from_settings(
        cls, settings: AdvowareSettings, session: SessionSource, token_cache: TokenCache, **overrides: Any
    ) -> AdvowareClient:
        credentials = AdvowareCredentials(
            app_id=settings.advoware_app_id,
            api_key_b64=settings.advoware_api_key,
            kanzlei=settings.advoware_kanzlei,
            database=settings.advoware_database,
            user=settings.advoware_user,
            password=settings.advoware_password,
            role=settings.advoware_role,
            product=settings.advoware_product_id,
        )
        kwargs: dict[str, Any] = {
            "base_url": settings.advoware_api_base_url,
            "token_url": settings.advoware_token_url,
            "credentials": credentials,
            "session": session,
            "token_cache": token_cache,
            "token_lifetime_s": settings.advoware_token_lifetime_minutes * 60,
            "timeout_s": settings.advoware_timeout_seconds,
            "max_requests_per_second": settings.advoware_max_requests_per_second,
        }
        return cls(**{**kwargs, **overrides})

    # -- token ------------------------------------------------------------------------------------
    async def _fetch_token(self) -> tuple[str, float | None]:
        async def attempt(n: int) -> tuple[str, float | None]:
            # A fresh nonce and timestamp per attempt: the gateway rejects a reused nonce.
            req = HttpRequest(
                "POST", self._token_url, paths.TOKEN.template,
                json_body=token_request_body(self._credentials), data=False,
            )  # fmt: skip
            response = await self.transport.send(req, n)
            if response.status >= 400 or not isinstance(response.body, dict):
                raise self._error(req, response)
            return _parse_token(response.body, req, self.system)

        # Asking for a token twice is harmless, so the token POST is retried like a GET.
        return await with_retries(self.retry, True, attempt)

    async def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.tokens.token()}"}

    async def _refresh_auth(self, rejected: Mapping[str, str]) -> bool:
        old = rejected.get("Authorization", "").removeprefix("Bearer ")
        await self.tokens.refresh(old or None)
        return True

    # -- parties ----------------------------------------------------------------------------------
    async def get_party(self, betnr: int) -> JsonDict:
        return await self._one("GET", paths.PARTY, betnr=betnr)

    async def create_party(self, payload: JsonDict) -> JsonDict:
        """Object with `betNr`; `rowId` may be missing (A5: then GET the party once).
        Raises OutcomeUnknown after a timeout/5xx: recover through the create intent."""
        return await self._one("POST", paths.PARTIES, payload)

    async def update_party(self, betnr: int, payload: JsonDict) -> JsonDict:
        """Full record in, stored record (with its new `rowId`) out; Advoware answers a list (A3)."""
        return await self._one("PUT", paths.PARTY, payload, betnr=betnr)

    async def search_parties(self, name: str, vorname: str | None = None) -> list[JsonDict]:
        """Parties whose `name` and `vorname` equal the given ones exactly (None and "" alike).
        The server's search may be fuzzy or ignore a parameter (A18), so results are re-filtered
        here before a crash recovery adopts a match (DECISIONS 6)."""
        found = await self._many(paths.PARTIES, {"name": name, "vorname": vorname or None})
        return [p for p in found if _same(p.get("name"), name) and _same(p.get("vorname"), vorname)]

    # -- Kommunikation ----------------------------------------------------------------------------
    async def create_kommunikation(self, betnr: int, payload: JsonDict) -> JsonDict:
        return await self._one("POST", paths.KOMMUNIKATIONEN, payload, betnr=betnr)

    async def update_kommunikation(self, betnr: int, komm_id: int, payload: JsonDict) -> JsonDict:
        return await self._one("PUT", paths.KOMMUNIKATION, payload, betnr=betnr, komm_id=komm_id)

    async def delete_kommunikation(self, betnr: int, komm_id: int) -> None:
        """Advoware forbids it (A8): raises Forbidden. Exists for probes, never for the sync."""
        route = paths.KOMMUNIKATION
        await self._call(self._request("DELETE", route.template, route.path(betnr=betnr, komm_id=komm_id)))

    # -- Adressen and Bankverbindungen ------------------------------------------------------------
    async def list_adressen(self, betnr: int) -> list[JsonDict]:
        return await self._many(paths.ADRESSEN, betnr=betnr)

    async def create_adresse(self, betnr: int, payload: JsonDict) -> JsonDict:
        return await self._one("POST", paths.ADRESSEN, payload, betnr=betnr)

    async def update_adresse(self, betnr: int, reihenfolge_index: int, payload: JsonDict) -> JsonDict:
        """`reihenfolgeIndex` is unstable (A13): look it up with `list_adressen` right before."""
        return await self._one(
            "PUT", paths.ADRESSE, payload, betnr=betnr, reihenfolge_index=reihenfolge_index
        )

    async def list_bankverbindungen(self, betnr: int) -> list[JsonDict]:
        return await self._many(paths.BANKVERBINDUNGEN, betnr=betnr)

    async def create_bankverbindung(self, betnr: int, payload: JsonDict) -> JsonDict:
        """Create only (A14): no PUT or DELETE. Raises OutcomeUnknown after a timeout/5xx:
        recover by the party's accounts (marker, then IBAN)."""
        return await self._one("POST", paths.BANKVERBINDUNGEN, payload, betnr=betnr)

    # -- employees and appointments ---------------------------------------------------------------
    async def list_employees(self) -> list[JsonDict]:
        return await self._many(paths.MITARBEITER)

    async def list_termine(
        self, kuerzel: str, von: str | None = None, bis: str | None = None, frnr: int | None = None
    ) -> list[JsonDict]:
        """Appointments of one employee; `von`/`bis` as `YYYY-MM-DD`. The filter is `frnr`
        (lowercase): `frNr` would be ignored and return everything (A18)."""
        return await self._many(paths.TERMINE, {"kuerzel": kuerzel, "von": von, "bis": bis, "frnr": frnr})

    async def get_termin(self, frnr: int) -> JsonDict | None:
        """The appointment `frnr` of whichever employee, or None when it is gone: the check
        before a delete is propagated (SYNC_RULES §5). Re-filtered here, as a server that
        ignored the filter (A18) would answer every appointment."""
        found = await self._many(paths.TERMINE, {"frnr": int(frnr)})
        return next((t for t in found if t.get("frNr") == int(frnr)), None)

    async def create_termin(self, payload: JsonDict) -> JsonDict:
        """Object with the new `frNr`. Not idempotent: raises OutcomeUnknown after a
        timeout/5xx (recover by looking for the appointment, never by POSTing again)."""
        return await self._one("POST", paths.TERMINE, payload)

    async def update_termin(self, frnr: int, payload: JsonDict) -> JsonDict:
        """The stored appointment with its new `rowId`; fields not in `payload` are kept."""
        return await self._one("PUT", paths.TERMIN, payload, frnr=frnr)

    async def delete_termin(self, frnr: int) -> None:
        route = paths.TERMIN
        await self._call(self._request("DELETE", route.template, route.path(frnr=frnr)))

    # -- shapes -----------------------------------------------------------------------------------
    async def _one(
        self, method: str, route: Route, payload: JsonDict | None = None, **ids: object
    ) -> JsonDict:
        """One call answered by one record: an object or a one-element list (A3, A4)."""
        req = self._request(method, route.template, route.path(**ids), json_body=payload)
        return _single(await self._call(req), self.system, method, route.template)

    async def _many(
        self, route: Route, params: Mapping[str, Any] | None = None, **ids: object
    ) -> list[JsonDict]:
        """A GET answered by a list of records (or a lone object)."""
        req = self._request("GET", route.template, route.path(**ids), params=params)
        return _items(await self._call(req))

    # -- raw, for the proxy ----------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """One call to any path below the base URL, with token, 401 refresh, timeout and
        counting, but no status mapping and no retries: (status, headers, body) go back as they
        came. Counted under the matching template of the path table, else `(other)`."""
        clean = _relative_path(path)
        route = template_for(clean, paths.ALL, paths.PROXY_FALLBACK)
        sent_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
        req = self._request(
            method.upper(), route, clean, params=params, json_body=json_body, headers=sent_headers
        )
        return await self._raw(req)


def _parse_token(body: JsonDict, req: HttpRequest, system: str) -> tuple[str, float | None]:
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ApiError(system, req.method, req.route, 200, f"{system} token response without access_token")
    expires = body.get("expires_in")
    return token, float(expires) if isinstance(expires, int | float) else None


def _single(body: Any, system: str, method: str, route: str) -> JsonDict:
    """Object or one-element list → object (A3, A4); an empty list means not found."""
    if isinstance(body, list):
        if not body:
            raise NotFound(system, method, route, 404, f"{system} {method} {route}: empty list")
        body = body[0]
    if not isinstance(body, dict):
        return {}
    return body


def _items(body: Any) -> list[JsonDict]:
    if isinstance(body, dict):
        return [body]
    return [item for item in body or [] if isinstance(item, dict)]


def _same(actual: Any, wanted: str | None) -> bool:
    return (actual or None) == (wanted or None)


def _relative_path(path: str) -> str:
    """Keep proxy paths below the base URL: the proxy's own path rules (`validate_proxy_path`,
    no length limit here; one leading `/` is allowed to the service's own callers), then
    encoded, as the transport sends paths already encoded."""
    clean = validate_proxy_path(path.removeprefix("/"), max_length=sys.maxsize)
    return quote(clean, safe="/%:@!$&'()*+,;=-._~")
