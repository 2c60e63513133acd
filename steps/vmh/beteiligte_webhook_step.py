"""EspoCRM webhooks for CBeteiligte, its addresses (CAdressen) and bank accounts (CBankverbindungen):
signature (checked by the engine first), validate, dedup, enqueue. A party or account event is one
job per record on its own topic; an address event is a `sync_check` of the party that holds the
address (addresses are synced inside the party sync)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from engine import ApiResponse, Emit, http
from services.beteiligte.address_io import parties_of_addresses
from steps.auth import ESPOCRM_SIGNATURE
from steps.deps import database, espocrm

ACTIONS = ("create", "update", "delete")
ROUTES = {"beteiligte": "CBeteiligte", "adressen": "CAdressen", "bankverbindungen": "CBankverbindungen"}
# Records with their own sync: route → (topic prefix, dedup key prefix). Addresses sync their party.
OWN_SYNC = {"beteiligte": ("vmh.beteiligte", ""), "bankverbindungen": ("vmh.bankverbindungen", "bank-")}


class WebhookItem(BaseModel):
    model_config = ConfigDict(extra="allow")  # create items carry every attribute; we need the id
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    beteiligteId: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")  # addresses


class WebhookBatch(RootModel[list[WebhookItem]]):
    """EspoCRM's webhook body: the changed records, each with at least its id."""


class WebhookAnswer(BaseModel):
    """Received: one job per distinct record (party) id, unless one is already pending."""

    status: Literal["received"]
    action: Literal["create", "update", "delete"]
    received: int = Field(ge=0)
    enqueued: int = Field(ge=0)
    duplicates: int = Field(ge=0)


config = {
    "name": "vmh-beteiligte-webhook",
    "description": "EspoCRM webhooks for CBeteiligte → vmh.beteiligte.{create,update,delete}; "
    "for CAdressen → vmh.beteiligte.sync_check of the party; "
    "for CBankverbindungen → vmh.bankverbindungen.{create,update,delete}",
    "flows": ["vmh"],
    "triggers": [
        http(
            "POST",
            f"/vmh/webhook/{route}/{a}",
            body=WebhookBatch,
            auth=ESPOCRM_SIGNATURE,
            responses={200: WebhookAnswer},
        )
        for route in ROUTES
        for a in ACTIONS
    ],
    "enqueues": [f"vmh.beteiligte.{a}" for a in (*ACTIONS, "sync_check")]
    + [f"vmh.bankverbindungen.{a}" for a in ACTIONS],
}


async def handler(request, ctx):
    route, action = request.path.rsplit("/", 2)[-2:]
    items = request.body.root
    if route == "adressen":  # the party holding the address syncs it (the item, else the database)
        listed = [{**i.model_dump(), "deleted": action == "delete"} for i in items]
        parties = await parties_of_addresses(listed, await database(ctx), espocrm(ctx))
        emits = [Emit("vmh.beteiligte.sync_check", {"id": p}, dedup_key=f"sync_check:{p}") for p in parties]
    else:
        ids = list(dict.fromkeys(item.id for item in items))  # same id twice in one batch: once
        # Dedup lasts until the job starts (DECISIONS 7): a later edit is enqueued again.
        topic, key = OWN_SYNC[route]
        emits = [Emit(f"{topic}.{action}", {"id": i}, dedup_key=f"{key}{action}:{i}") for i in ids]
    created = await ctx.enqueue_many(emits) if emits else []
    ctx.logger.info("webhook received", route=route, action=action, records=len(items), enqueued=sum(created))
    answer = WebhookAnswer(
        status="received",
        action=action,
        received=len(items),
        enqueued=sum(created),
        duplicates=len(items) - sum(created),
    )
    return ApiResponse(200, answer.model_dump())
