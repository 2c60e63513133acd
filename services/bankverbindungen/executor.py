"""Runs the account actions against the clients (the core runner's `Executor`): the Advoware POST
of a new account (under the party's betNr), and the EspoCRM writes of the party sync — create an
account that came from Advoware, delete one whose Advoware account is gone (already gone counts
as done: a run that died after the delete), patch an account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.bankverbindungen.fields import ENTITY
from services.bankverbindungen.from_advoware import CREATE, DELETE
from services.bankverbindungen.rules import POST
from services.clients.errors import NotFound
from services.sync.actions import Call


class BankExecutor:
    def __init__(self, espo: Any, advo: Any) -> None:
        self.espo, self.advo = espo, advo

    async def call(self, call: Call) -> Any:
        body = dict(call.body or {})
        if call.op == POST:
            return await self.advo.create_bankverbindung(int(call.target), body)
        if call.op == CREATE:
            return await self.espo.create(ENTITY, body)
        if call.op == DELETE:
            try:
                await self.espo.delete(ENTITY, str(call.target))
            except NotFound:
                pass
            return {"id": call.target, "deleted": True}
        raise ValueError(f"unknown bank account operation {call.op!r}")

    async def patch(self, entity: str, record_id: str, fields: Mapping[str, Any]) -> Any:
        return await self.espo.update(entity, record_id, dict(fields))
