"""Authenticated proxy to the Advoware API: one step, four triggers (SYNC_RULES §6)."""

from engine import ApiResponse, http
from services.advoware_proxy import forward_request
from steps.deps import advoware, settings_of

config = {
    "name": "advoware-proxy",
    "description": "Forward GET/POST/PUT/DELETE to the Advoware API with the service's token",
    "flows": ["advoware"],
    "triggers": [http(m, "/advoware/proxy") for m in ("GET", "POST", "PUT", "DELETE")],
    "enqueues": [],
}


async def handler(request, ctx):
    result = await forward_request(
        advoware(ctx),
        settings_of(ctx),
        request.method,
        request.headers,
        request.query_all,
        request.raw_body,
        request.body,
    )
    ctx.logger.info("proxied", status=result.status, route=result.route)
    return ApiResponse(result.status, result.body)
