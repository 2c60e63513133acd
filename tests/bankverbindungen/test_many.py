"""100 accounts of 10 parties, all jobs at once (as 100 webhooks enqueue them): exactly 100
Advoware accounts, every EspoCRM account linked and clean, and never two jobs of one party in
Advoware at the same time (the party's lock)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from simulators.common.iban import german_iban
from tests.bankverbindungen.conftest import Bank

pytestmark = pytest.mark.timeout(120)


async def test_100_accounts_of_10_parties(bank: Bank) -> None:
    parties = [await bank.party(lastName=f"Muster{n}") for n in range(10)]
    accounts = [
        (await bank.new_account(pid, iban=german_iban("37040044", str(1000 * p + n)), bic=None), betnr)
        for p, (pid, betnr) in enumerate(parties)
        for n in range(10)
    ]
    advo = bank.service.advo
    real_list, real_post = advo.list_bankverbindungen, advo.create_bankverbindung
    inside: Counter[int] = Counter()
    most = Counter[int]()

    async def tracked(real: Any, betnr: int, *args: Any) -> Any:
        inside[betnr] += 1
        most[betnr] = max(most[betnr], inside[betnr])
        try:
            await asyncio.sleep(0)  # let other jobs run while this one is "in Advoware"
            return await real(betnr, *args)
        finally:
            inside[betnr] -= 1

    advo.list_bankverbindungen = lambda betnr: tracked(real_list, betnr)
    advo.create_bankverbindung = lambda betnr, body: tracked(real_post, betnr, body)
    statuses: Counter[str] = Counter()

    async def job(account_id: str) -> None:
        waits = 0
        while True:  # the step re-queues a job that found the lock held; here: try again
            outcome = await bank.service.handle(
                account_id, "create", trigger="vmh.bankverbindungen.create", trace_id="t", waits=waits
            )
            if outcome.status != "locked":
                statuses[outcome.status] += 1
                return
            waits += 1
            await asyncio.sleep(0.001)

    await asyncio.gather(*(job(a) for a, _ in accounts))
    assert statuses == {"created": 100}, statuses
    assert max(most.values()) == 1  # one job per party lock at a time
    for pid, betnr in parties:
        made = bank.advo_accounts(betnr)
        assert len(made) == 10 and len({a.values["bemerkung"] for a in made}) == 10
        espo = await bank.espo_accounts(pid)
        assert {e["advowareKontoId"] for e in espo} == {a.id for a in made}
        assert {e["syncStatus"] for e in espo} == {"clean"}
