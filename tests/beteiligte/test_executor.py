"""The party executor's read-back after a PUT without a clear answer (over the state machine's
in-memory Advoware)."""

from __future__ import annotations

import asyncio

import pytest

from services.beteiligte.executor import PartyExecutor
from services.clients.errors import ApiError, NotApplied, NotFound, maybe_applied
from services.sync.actions import Call
from tests.beteiligte.fakes import FakeAdvoware, Faults


def put(advo: FakeAdvoware, how: str, version: str | None = "row0") -> BaseException:
    advo.faults.armed["PUT"] = how
    call = Call("advoware", "update_party", "put", 1001, {"titel": "Dr."}, version=version)
    with pytest.raises(ApiError) as failed:
        asyncio.run(PartyExecutor(None, advo, None).call(call))
    return failed.value


def party() -> FakeAdvoware:
    advo = FakeAdvoware(Faults())
    advo.parties[1001] = {"betNr": 1001, "rowId": "row0", "name": "N"}
    return advo


def test_a_party_still_at_the_puts_row_id_was_not_written() -> None:
    error = put(party(), "before")
    assert isinstance(error, NotApplied) and error.status == 503 and not maybe_applied(error)


def test_a_new_row_id_or_no_read_back_leaves_the_outcome_unknown() -> None:
    landed = put(party(), "after")  # applied, the answer lost: the rowId moved on
    assert not isinstance(landed, NotApplied) and maybe_applied(landed)
    unversioned = put(party(), "before", version=None)
    assert not isinstance(unversioned, NotApplied) and maybe_applied(unversioned)

    class Unreadable(FakeAdvoware):
        async def get_party(self, betnr: int) -> dict:
            raise NotFound("advoware", "GET", "/Beteiligte/{betnr}", 404)

    advo = Unreadable(Faults())
    advo.parties[1001] = {"betNr": 1001, "rowId": "row0", "name": "N"}
    assert maybe_applied(put(advo, "before"))
