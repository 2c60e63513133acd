"""HTTP cases for the engine tests: path params, a crashing handler, a slow one."""

import asyncio

from engine import ApiResponse, http

config = {
    "name": "example-http-misc",
    "flows": ["example"],
    "triggers": [http("GET", "/echo/{name}"), http("GET", "/boom"), http("GET", "/sleep")],
    "enqueues": [],
}


async def handler(request, ctx):
    if request.path == "/boom":
        raise RuntimeError("secret detail that must not reach the caller")
    if request.path == "/sleep":
        await asyncio.sleep(float(request.query.get("s", "5")))
    return ApiResponse(200, {"name": request.path_params.get("name"), "trigger": ctx.trigger.describe()})
