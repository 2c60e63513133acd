"""HTTP edge of the example flow: POST /ingest enqueues one demo.item job per item."""

from pydantic import BaseModel

from engine import ApiResponse, Emit, http


class Item(BaseModel):
    n: int
    delay: float = 0.0
    dedup: str | None = None
    topic: str = "demo.item"


class Payload(BaseModel):
    items: list[Item]


config = {
    "name": "example-ingest",
    "description": "accept items and fan them out",
    "flows": ["example"],
    "triggers": [http("POST", "/ingest", body=Payload)],
    "enqueues": ["demo.item", "demo.flaky", "demo.slow", "demo.bad", "demo.stuck"],
}


async def handler(request, ctx):
    emits = [Emit(i.topic, {"n": i.n}, delay=i.delay, dedup_key=i.dedup) for i in request.body.items]
    created = await ctx.enqueue_many(emits)
    ctx.logger.info("ingested", count=len(emits))
    return ApiResponse(202, {"enqueued": sum(created), "deduplicated": len(created) - sum(created)})
