"""The one runner: order, ONE merged EspoCRM write per record, stop at the first failure, state
advanced only for what was applied, notices only when their items advanced."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from services.sync.actions import Call, Note, Notify, Patch, Settlement
from services.sync.locking import LockLost
from services.sync.runner import run


class Boom(Exception):
    pass


class Executor:
    def __init__(self, fail: set[str] | None = None, answers: dict[str, Any] | None = None) -> None:
        self.fail, self.answers, self.log = fail or set(), answers or {}, []  # type: ignore[var-annotated]

    async def call(self, call: Call) -> Any:
        self.log.append(call.key)
        if call.key in self.fail:
            raise Boom(call.key)
        return self.answers.get(call.key, {"ok": call.key})

    async def patch(self, entity: str, record_id: str, fields: Mapping[str, Any]) -> Any:
        self.log.append(("patch", record_id, dict(fields)))
        if f"patch:{record_id}" in self.fail:
            raise Boom(record_id)
        return {"modifiedAt": "t1"}


def notify(key: str, *requires: str) -> Notify:
    return Notify(key, "conflict", "E", "r1", "u1", "m", requires=requires)


async def test_patches_of_one_record_are_merged_into_one_write_at_its_last_patch() -> None:
    ex = Executor()
    actions = [
        Patch("E", "r1", {"a": 1}, {"x": 1}),
        Call("adv", "put", "c1", advances={"y": 2}),
        Patch("E", "r1", {"b": 2}),
        Patch("E", "r2", {"c": 3}),
    ]
    applied = await run(actions, ex)
    assert ex.log == ["c1", ("patch", "r1", {"a": 1, "b": 2}), ("patch", "r2", {"c": 3})]
    assert applied.ok and applied.advanced == {"x": 1, "y": 2}
    assert applied.patch_answers[("E", "r1")] == {"modifiedAt": "t1"}


async def test_answers_contribute_fields_that_win_over_planned_ones() -> None:
    def settle(answer: Any) -> Settlement:
        return Settlement(
            {"y": answer["v"]}, (Patch("E", "r1", {"status": "failed", "rowId": "R2"}),), problem="p"
        )

    ex = Executor(answers={"c1": {"v": 9}})
    applied = await run(
        [Call("adv", "put", "c1", advances={"y": 1}, settle=settle), Patch("E", "r1", {"status": "clean"})],
        ex,
    )
    assert ex.log[-1] == ("patch", "r1", {"status": "failed", "rowId": "R2"})
    assert applied.advanced == {"y": 9} and applied.problems == ["p"]


async def test_contribution_without_a_planned_patch_is_written_at_the_end() -> None:
    settle = lambda _a: Settlement(patches=(Patch("E", "r9", {"k": 1}),))  # noqa: E731
    ex = Executor()
    applied = await run([Call("adv", "post", "c1", settle=settle)], ex)
    assert ex.log == ["c1", ("patch", "r9", {"k": 1})] and applied.written == {("E", "r9"): {"k": 1}}


async def test_first_failure_stops_and_nothing_after_it_advances() -> None:
    ex = Executor(fail={"c2"})
    actions = [
        Call("adv", "put", "c1", advances={"a": 1, "shared": 1}),
        Call("adv", "put", "c2", advances={"b": 2}),
        Patch("E", "r1", {"f": 1}, {"c": 3, "shared": 1}, keep=True),
        notify("n1", "a"),
        notify("n2", "b"),
        notify("n3"),
    ]
    applied = await run(actions, ex)
    assert ex.log == ["c1", "c2"]
    assert not applied.ok and isinstance(applied.failure.error, Boom) and applied.failure.action.key == "c2"
    # "shared" is named by an unapplied patch too: it stays as it was
    assert applied.advanced == {"a": 1}
    assert applied.unwritten == {("E", "r1"): {"f": 1}} and applied.kept == {("E", "r1"): {"f": 1}}
    # never reached, but the write n1 reports ("a") was applied: earned; n2's was not, n3 needs the run
    assert [n.key for n in applied.notices] == ["n1"]


async def test_failed_patch_is_reported_and_its_items_do_not_advance() -> None:
    ex = Executor(fail={"patch:r1"})
    applied = await run(
        [Call("adv", "put", "c1", advances={"a": 1}), Patch("E", "r1", {"f": 1}, {"b": 2}), notify("n", "b")],
        ex,
    )
    assert applied.failure is not None and applied.advanced == {"a": 1} and applied.notices == []


async def test_notices_need_their_items_and_notes_are_collected() -> None:
    ex = Executor()
    actions = [
        Call("adv", "put", "c1", advances={"a": 1}),
        notify("yes", "a"),
        notify("no", "b"),
        Note("left alone"),
    ]
    applied = await run(actions, ex)
    assert [n.key for n in applied.notices] == ["yes"] and applied.notes == ["left alone"]


async def test_empty_patch_writes_nothing_but_advances() -> None:
    ex = Executor()
    applied = await run([Patch("E", "r1", {}, {"s": "clean"})], ex)
    assert ex.log == [] and applied.advanced == {"s": "clean"}


async def test_a_lost_lock_stops_before_the_next_write_and_propagates() -> None:
    ex = Executor()
    held = {"lost": False}

    async def guard() -> None:
        if held["lost"]:
            raise LockLost("gone")

    def settle(_a: Any) -> Settlement:
        held["lost"] = True
        return Settlement()

    with pytest.raises(LockLost):
        await run([Call("adv", "put", "c1", settle=settle), Patch("E", "r1", {"f": 1})], ex, guard=guard)
    assert ex.log == ["c1"]
