"""Every write the entry and address sync makes, against both simulators: refused, applied with
its answer lost, and the same run repeated. A failed write books the party `failed` and
advances nothing it did not apply; once the fault is gone the next run finishes the work with
no duplicate anywhere, and the run after that writes nothing. (A crash right after each write
is the state machine's job: tests/kommunikation/test_state_machine.py.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.sync.policy import RetryPolicy
from tests.beteiligte_service.conftest import Env, make_settings
from tests.kommunikation.helpers import Party, email, phone
from tests.kommunikation.test_adressen import CAD, HOME, advo_of, desktop_address, espo_addresses, new_address

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sync_settings():  # type: ignore[no-untyped-def]
    return make_settings(retry=RetryPolicy(schedule_minutes=(1, 1, 1, 1, 1)))


@dataclass(frozen=True)
class Write:
    sim: str  # which simulator answers it
    method: str
    route: str  # fault rule glob
    cause: Callable[[Party], Awaitable[Any]]  # the edit that makes the next run do this write
    done: Callable[[Party], Awaitable[None]]  # asserts the write's effect, exactly once


async def _base(env: Env) -> Party:
    pid = await env.new_person(
        emailAddressData=[email("a@x.de", True)], phoneNumberData=[phone("+49 1", "Office", True)]
    )
    await new_address(env, pid, **HOME)
    assert (await env.handle(pid, "create")).status == "created"
    return Party(env, pid, int((await env.record(pid))["betnr"]))


async def _home(p: Party) -> str:
    return str((await espo_addresses(p.env, p.pid))[0]["id"])


async def add_email(p: Party) -> None:
    await p.set_sets(emails=[email("a@x.de", True), email("b@x.de")])


async def email_added(p: Party) -> None:
    assert sorted(p.live()) == ["+49 1", "a@x.de", "b@x.de"] and len(p.entries()) == 3


async def change_email(p: Party) -> None:
    await p.set_sets(emails=[email("a2@x.de", True)])


async def email_changed(p: Party) -> None:
    assert sorted(p.live()) == ["+49 1", "a2@x.de"] and len(p.entries()) == 2


async def add_address(p: Party) -> None:
    await new_address(p.env, p.pid, strasse="Ring 5", plz="50672", ort="Köln")


async def address_added(p: Party) -> None:
    assert sorted(a.values["strasse"] for a in p.addresses()) == ["Hauptstr. 1", "Ring 5"]


async def change_street(p: Party) -> None:
    await p.env.espo_sim.update_as_user(CAD, await _home(p), {"strasse": "Domplatz 2"})


async def street_changed(p: Party) -> None:
    assert [a.values["strasse"] for a in p.addresses()] == ["Domplatz 2"]


async def desktop_new_address(p: Party) -> None:
    desktop_address(p, strasse="Lager 3", plz="50999", ort="Köln")


async def record_created(p: Party) -> None:
    assert sorted(r["strasse"] for r in await espo_addresses(p.env, p.pid)) == ["Hauptstr. 1", "Lager 3"]


async def desktop_change_town(p: Party) -> None:
    advo_of(p, await _home(p)).values["ort"] = "Hürth"


async def record_updated(p: Party) -> None:
    assert [r["ort"] for r in await espo_addresses(p.env, p.pid)] == ["Hürth"]


async def desktop_delete(p: Party) -> None:
    p._advo.adressen.clear()


async def record_deleted(p: Party) -> None:
    assert await espo_addresses(p.env, p.pid) == []


async def desktop_new_phone(p: Party) -> None:
    p.add_entry("0221 7", 6)


async def phone_in_espocrm(p: Party) -> None:
    assert [i["phoneNumber"] for i in await p.phones()] == ["+49 1", "0221 7"]


WRITES = {
    "entry POST": Write("advoware", "POST", "*/Kommunikationen", add_email, email_added),
    "entry PUT": Write("advoware", "PUT", "*/Kommunikationen/*", change_email, email_changed),
    "address POST": Write("advoware", "POST", "*/Adressen", add_address, address_added),
    "address PUT": Write("advoware", "PUT", "*/Adressen/*", change_street, street_changed),
    "CAdressen create": Write("espocrm", "POST", "*/CAdressen", desktop_new_address, record_created),
    "CAdressen update": Write("espocrm", "PUT", "*/CAdressen/*", desktop_change_town, record_updated),
    "CAdressen delete": Write("espocrm", "DELETE", "*/CAdressen/*", desktop_delete, record_deleted),
    "party write with the sets": Write(
        "espocrm", "PUT", "*/CBeteiligte/*", desktop_new_phone, phone_in_espocrm
    ),
}
# refused: a 4xx, surely not applied; lost: applied, then a 5xx (every retry of a PUT/DELETE too)
MODES = {"refused": {"status": 400, "count": 1}, "lost": {"status": 502, "after_write": True, "count": 4}}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("write", sorted(WRITES))
async def test_a_failed_write_is_finished_once_by_the_next_run(env: Env, write: str, mode: str) -> None:
    w = WRITES[write]
    p = await _base(env)
    await w.cause(p)
    # (the party's failure booking is a PUT of the same route: the rule has run out by then)
    await env.faults(w.sim, {"rules": [{"method": w.method, "route": w.route, **MODES[mode]}]})
    failed = await p.sync()
    assert failed.status == "failed", failed
    assert (await p.record())["syncStatus"] == "failed"
    await env.faults(w.sim, {})
    env.clock.advance(minutes=2)
    await p.sync()
    await w.done(p)
    assert (await p.record())["syncStatus"] == "clean"
    await p.settled()
    await w.done(p)  # the same event again changes nothing
    await p.settled()
