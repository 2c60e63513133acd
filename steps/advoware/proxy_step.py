"""Authenticated proxy to the Advoware API: one step, four triggers (SYNC_RULES §6). The key is
checked by the engine before the body is read (steps/auth.py)."""

from pydantic import BaseModel, ConfigDict, Field

from engine import ApiResponse, Reply, http
from services.advoware_proxy import forward_request
from steps.auth import PROXY_KEY
from steps.deps import advoware, settings_of

EXAMPLE_PATH = "api/v1/advonet/Mitarbeiter"


class ProxyQuery(BaseModel):
    """`path` (or the older `endpoint`) names the Advoware API path; every other query parameter
    is forwarded to Advoware unchanged."""

    model_config = ConfigDict(extra="allow")
    path: str = Field(
        "", description="Advoware API path, relative, under PROXY_ALLOWED_PREFIXES", examples=[EXAMPLE_PATH]
    )
    endpoint: str = Field("", description="older name of `path`", examples=[EXAMPLE_PATH])
    raw: str = Field("", description="1 or true: Advoware's body unwrapped", examples=["1"])


ADVOWARE_ANSWER = Reply(
    'Advoware\'s status with its body as {"result": body}, or the body alone with raw=1; the '
    'proxy\'s own refusals are {"error", "detail"}'
)

config = {
    "name": "advoware-proxy",
    "description": "Forward GET/POST/PUT/DELETE to the Advoware API with the service's token",
    "flows": ["advoware"],
    "triggers": [
        http(m, "/advoware/proxy", query=ProxyQuery, auth=PROXY_KEY, responses={"default": ADVOWARE_ANSWER})
        for m in ("GET", "POST", "PUT", "DELETE")
    ],
    "enqueues": [],
}


async def handler(request, ctx):
    result = await forward_request(
        advoware(ctx), settings_of(ctx), request.method, request.query_all, request.raw_body, request.body
    )
    ctx.logger.info("proxied", status=result.status, route=result.route)
    return ApiResponse(result.status, result.body)
