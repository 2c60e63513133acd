"""The REST routes under `/api/v1` (2.2), generic over the modelled entities.

Route templates (`/api/v1/{entity}/{id}`) keep the shared call counters grouped by template.
Create answers 200 with the record, as EspoCRM does; delete answers `true`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .auth import acting_user
from .entities import ENTITIES, SYSTEM_FIELDS
from .errors import ApiError
from .listing import parse_query, run_list
from .state import EspoState
from .webhooks import subscription_fields

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE_KEY = web.AppKey("espocrm_store", EspoState)
# EspoCRM fixes these when a webhook is created; later writes cannot change them.
_WEBHOOK_FIXED = ("event", "entityType", "type", "field", "userId", "secretKey")


def _api(handler: Callable[[web.Request, EspoState], Awaitable[Any]]) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            result = await handler(request, request.app[STATE_KEY])
        except ApiError as exc:
            return exc.response()
        return web.json_response(result)

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object")
    return data


@_api
async def list_records(request: web.Request, state: EspoState) -> Any:
    entity = request.match_info["entity"]
    defn = state.definition(entity)
    return run_list(defn, state.tables[entity].values(), parse_query(request.query.items()))


@_api
async def create_record(request: web.Request, state: EspoState) -> Any:
    entity = request.match_info["entity"]
    data = await _body(request)
    user = acting_user(request)
    if entity == "Webhook":
        data = {**data, **subscription_fields(data, user)}
    return state.create(entity, data, user)


@_api
async def read_record(request: web.Request, state: EspoState) -> Any:
    return state.get(request.match_info["entity"], request.match_info["id"])


@_api
async def update_record(request: web.Request, state: EspoState) -> Any:
    entity = request.match_info["entity"]
    data = await _body(request)
    if entity == "Webhook":
        data = {k: v for k, v in data.items() if k not in _WEBHOOK_FIXED}
    return state.update(entity, request.match_info["id"], data, acting_user(request))


@_api
async def delete_record(request: web.Request, state: EspoState) -> Any:
    state.delete(request.match_info["entity"], request.match_info["id"], acting_user(request))
    return True


@_api
async def list_linked(request: web.Request, state: EspoState) -> Any:
    """`GET /{entity}/{id}/{link}`: e.g. the addresses of a party."""
    entity, record_id, link = (request.match_info[k] for k in ("entity", "id", "link"))
    state.get(entity, record_id)
    target = state.definition(entity).links.get(link)
    if target is None:
        raise ApiError(404, f"link {link} not found on {entity}")
    foreign, key = target
    rows = (r for r in state.tables[foreign].values() if r.get(key) == record_id)
    return run_list(state.definition(foreign), rows, parse_query(request.query.items()))


@_api
async def app_user(request: web.Request, state: EspoState) -> Any:
    """`GET /App/user`: who am I — what clients call to check their credentials."""
    user = acting_user(request)
    kind = "api" if user == state.config.api_user_id else "regular"
    return {"user": {"id": user, "userName": user, "type": kind}}


@_api
async def metadata(request: web.Request, state: EspoState) -> Any:
    """`GET /Metadata`: the part of EspoCRM's metadata clients read, the fields per entity."""
    acting_user(request)
    return {
        "entityDefs": {
            name: {"fields": {f: {"type": t} for f, t in {**SYSTEM_FIELDS, **defn.fields}.items()}}
            for name, defn in ENTITIES.items()
        }
    }


def add_api_routes(app: web.Application, state: EspoState) -> None:
    app[STATE_KEY] = state
    router = app.router
    # Before the generic routes, which would otherwise read it as entity "App", id "user".
    router.add_get("/api/v1/App/user", app_user)
    router.add_get("/api/v1/Metadata", metadata)
    router.add_get("/api/v1/{entity}", list_records)
    router.add_post("/api/v1/{entity}", create_record)
    router.add_get("/api/v1/{entity}/{id}", read_record)
    router.add_put("/api/v1/{entity}/{id}", update_record)
    router.add_patch("/api/v1/{entity}/{id}", update_record)
    router.add_delete("/api/v1/{entity}/{id}", delete_record)
    router.add_get("/api/v1/{entity}/{id}/{link}", list_linked)
