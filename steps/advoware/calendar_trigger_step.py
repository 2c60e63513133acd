"""`POST /advoware/calendar/sync`: the manual calendar trigger, keyed like the proxy.

Body (old callers' shapes keep working): none, `{}` or `{"kuerzel": "ALL"}` → every employee
(`calendar_sync_all`); `{"kuerzel": "SB"}` → that employee alone (`calendar_sync_employee`).
`full_content: true` is accepted and ignored; `false` (anonymised events) is not supported, as
anonymised text would flow back into Advoware. Anything else is a 400."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine import ApiResponse, http
from steps.auth import PROXY_KEY

ALL = "ALL"


class CalendarTrigger(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kuerzel: str = Field(
        ALL, min_length=1, max_length=10, description="an Advoware Kürzel (letters or digits) or ALL"
    )
    full_content: bool = Field(True, description="accepted for old callers; false is not supported")

    @field_validator("kuerzel")
    @classmethod
    def _kuerzel(cls, value: str) -> str:
        if not all(c.isalpha() or c.isdigit() for c in value):
            raise ValueError("a Kürzel is 1-10 letters or digits")
        return value.upper()

    @field_validator("full_content")
    @classmethod
    def _full(cls, value: bool) -> bool:
        if not value:
            raise ValueError("full_content=false is not supported (anonymised text would reach Advoware)")
        return value


class Triggered(BaseModel):
    """The sync was enqueued (it runs in the background)."""

    status: Literal["triggered"]
    kuerzel: str
    message: str


config = {
    "name": "advoware-calendar-trigger",
    "description": "Trigger the calendar sync of one employee or of all",
    "flows": ["calendar"],
    "triggers": [
        http(
            "POST",
            "/advoware/calendar/sync",
            body=CalendarTrigger,
            body_required=False,
            invalid_status=400,
            auth=PROXY_KEY,
            responses={202: Triggered},
        )
    ],
    "enqueues": ["calendar_sync_all", "calendar_sync_employee"],
}


async def handler(request, ctx):
    kuerzel = request.body.kuerzel if request.body is not None else ALL
    if kuerzel == ALL:
        await ctx.enqueue("calendar_sync_all", {}, dedup_key="calendar:all")
    else:  # one request while another waits to start: absorbed (the run reads everything fresh)
        await ctx.enqueue("calendar_sync_employee", {"kuerzel": kuerzel}, dedup_key=f"calendar:{kuerzel}")
    ctx.logger.info("calendar sync triggered", kuerzel=kuerzel)
    answer = Triggered(status="triggered", kuerzel=kuerzel, message=f"Calendar sync triggered for {kuerzel}")
    return ApiResponse(202, answer.model_dump())
