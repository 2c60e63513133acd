"""The renewed lock: held → LockHeld; renewed while held; a lost lock stops the next write;
released in a finally; the wait delay grows, is capped and jittered."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.sync.locking import (
    Busy,
    Held,
    LockHeld,
    LockLost,
    held_since,
    locked,
    owner_token,
    party_lock_key,
    under_lock,
    wait_delay,
)


class Lock:
    def __init__(self) -> None:
        self.held: dict[str, str] = {}
        self.extends = 0
        self.steal = False

    async def acquire(self, key: str, ttl: float, owner: str | None = None) -> str | None:
        if key in self.held:
            return None
        self.held[key] = owner or "x"
        return self.held[key]

    async def extend(self, key: str, owner: str, ttl: float) -> bool:
        self.extends += 1
        if self.steal:
            self.held[key] = "thief"
        return self.held.get(key) == owner

    async def release(self, key: str, owner: str) -> bool:
        if self.held.get(key) == owner:
            del self.held[key]
            return True
        return False


async def test_held_lock_raises_and_a_free_one_is_released_afterwards() -> None:
    lock = Lock()
    async with locked(lock, "k", ttl=30):
        with pytest.raises(LockHeld):
            async with locked(lock, "k", ttl=30):
                pass
    assert lock.held == {}


async def test_the_holder_renews_the_lock_every_third_of_the_ttl() -> None:
    lock = Lock()
    async with locked(lock, "k", ttl=0.3) as held:
        await asyncio.sleep(0.35)
        await held.check()
    assert lock.extends >= 2


async def test_a_lock_taken_over_stops_the_next_write() -> None:
    lock = Lock()
    lock.steal = True
    with pytest.raises(LockLost):
        async with locked(lock, "k", ttl=0.15) as held:
            await asyncio.sleep(0.12)
            await held.check()
    assert lock.held == {"k": "thief"}  # never released by the old holder


def test_owner_token_tells_when_the_lock_was_taken() -> None:
    token = owner_token(lambda: 1700000000.0)
    assert held_since(token) == 1700000000.0 and held_since("foreign") is None
    assert abs((held_since(owner_token()) or 0) - time.time()) < 5


def test_wait_delay_doubles_up_to_the_cap_with_jitter() -> None:
    assert [wait_delay(n, 2, 30, rand=lambda: 0.5) for n in range(6)] == [2, 4, 8, 16, 30, 30]
    assert wait_delay(0, 2, 30, rand=lambda: 0.0) == pytest.approx(1.6)
    assert wait_delay(0, 2, 30, rand=lambda: 1.0) == pytest.approx(2.4)


class Timing:
    lock_ttl_s, lock_retry_initial_s, lock_retry_max_s = 30.0, 2.0, 30.0


async def test_under_lock_runs_the_flow_or_says_when_to_try_again() -> None:
    """The one lock-wait of every sync job (parties and their bank accounts)."""
    lock = Lock()

    async def flow(held: Held) -> str:
        await held.check()
        inner = await under_lock(lock, party_lock_key("P1"), Timing(), 3, flow)
        assert isinstance(inner, Busy) and inner.reason == "LockHeld"
        assert 16 * 0.8 <= inner.retry_in <= 16 * 1.2  # the 4th consecutive wait
        return "done"

    assert await under_lock(lock, party_lock_key("P1"), Timing(), 0, flow) == "done"
    assert lock.held == {}


async def test_under_lock_turns_a_lost_lock_into_a_retry() -> None:
    lock = Lock()
    lock.steal = True

    async def flow(held: Held) -> str:
        await asyncio.sleep(0.12)
        await held.check()
        return "written"

    class Short(Timing):
        lock_ttl_s = 0.15

    busy = await under_lock(lock, "k", Short(), 0, flow)
    assert isinstance(busy, Busy) and busy.reason == "LockLost" and 1.6 <= busy.retry_in <= 2.4
