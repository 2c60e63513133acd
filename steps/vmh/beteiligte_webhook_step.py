"""EspoCRM webhooks for CBeteiligte: signature (checked by the engine first), validate, dedup,
enqueue one job per record."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from engine import ApiResponse, Emit, http
from steps.auth import ESPOCRM_SIGNATURE

ACTIONS = ("create", "update", "delete")


class WebhookItem(BaseModel):
    model_config = ConfigDict(extra="allow")  # create items carry every attribute; we need the id
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class WebhookBatch(RootModel[list[WebhookItem]]):
    """EspoCRM's webhook body: the changed records, each with at least its id."""


class WebhookAnswer(BaseModel):
    """Received: one job per distinct record id, unless one is already pending."""

    status: Literal["received"]
    action: Literal["create", "update", "delete"]
    received: int = Field(ge=0)
    enqueued: int = Field(ge=0)
    duplicates: int = Field(ge=0)


config = {
    "name": "vmh-beteiligte-webhook",
    "description": "EspoCRM webhooks for CBeteiligte → vmh.beteiligte.{create,update,delete}",
    "flows": ["vmh"],
    "triggers": [
        http(
            "POST",
            f"/vmh/webhook/beteiligte/{a}",
            body=WebhookBatch,
            auth=ESPOCRM_SIGNATURE,
            responses={200: WebhookAnswer},
        )
        for a in ACTIONS
    ],
    "enqueues": [f"vmh.beteiligte.{a}" for a in ACTIONS],
}


async def handler(request, ctx):
    action = request.path.rsplit("/", 1)[-1]
    ids = list(dict.fromkeys(item.id for item in request.body.root))  # same id twice in one batch: once
    # Dedup lasts until the job starts (DECISIONS 7): a later edit is enqueued again.
    emits = [Emit(f"vmh.beteiligte.{action}", {"id": i}, dedup_key=f"{action}:{i}") for i in ids]
    created = await ctx.enqueue_many(emits)
    ctx.logger.info("webhook received", action=action, records=len(ids), enqueued=sum(created))
    answer = WebhookAnswer(
        status="received",
        action=action,
        received=len(request.body.root),
        enqueued=sum(created),
        duplicates=len(request.body.root) - sum(created),
    )
    return ApiResponse(200, answer.model_dump())
