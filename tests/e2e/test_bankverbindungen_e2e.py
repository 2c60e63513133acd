"""Bank accounts end to end: EspoCRM (simulator) sends signed webhooks to the running service,
the account step syncs them to Advoware (simulator) under the party's lock."""

from __future__ import annotations

import pytest

from simulators.common.iban import german_iban

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]
PERSON = {
    "firstName": "Max",
    "lastName": "Mustermann",
    "rechtsform": "Privatperson",
    "assignedUserId": "user-anna",
}


async def test_100_webhooks_for_100_accounts_of_10_parties(world, monkeypatch):
    parties = []
    for n in range(10):
        rec = await world.user_create({**PERSON, "lastName": f"Muster{n}"})
        parties.append(rec["id"])
    await world.wait(lambda: all(world.record(p).get("betnr") for p in parties), timeout=60)
    await world.drained(timeout=60)  # no party job still holds its lock when the counting starts
    # every lock object of this backend (the account step builds its service on its first job)
    cls = type(world.engine.options.resources["beteiligte_service"].deps.lock)
    acquire, release = cls.acquire, cls.release
    holders: dict[str, int] = {}
    peak = 0

    async def counting_acquire(self, key, ttl, owner=None):
        nonlocal peak
        token = await acquire(self, key, ttl, owner)
        if token:
            holders[key] = holders.get(key, 0) + 1
            peak = max(peak, holders[key])
        return token

    async def counting_release(self, key, token):
        if key in holders:  # a lock taken before the counting started is not counted
            holders[key] -= 1
        return await release(self, key, token)

    monkeypatch.setattr(cls, "acquire", counting_acquire)
    monkeypatch.setattr(cls, "release", counting_release)
    for p, pid in enumerate(parties):
        for n in range(10):
            world.own_espo_calls += 1
            iban = german_iban("37040044", str(1000 * p + n))
            await world.espo.create_as_user("CBankverbindungen", {"iban": iban, "beteiligteId": pid})
    accounts = lambda: list(world.espo.state.tables["CBankverbindungen"].values())  # noqa: E731
    await world.wait(lambda: all(a.get("syncStatus") == "clean" for a in accounts()), timeout=90)
    await world.drained(timeout=60)
    made = [a for party in world.advo.state.parties.values() for a in party.bankverbindungen]
    assert len(made) == 100 and len({a.values["bemerkung"] for a in made}) == 100
    assert {a["advowareKontoId"] for a in accounts()} == {a.id for a in made}
    assert peak == 1  # one job per party lock at a time
