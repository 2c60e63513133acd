"""A hypothesis state machine over the real party sync — decision, runner, flows, service
database (SQLite) — with in-memory EspoCRM and Advoware that follow the simulators' rules
(vdirsyncer's `SyncMachine`, for this service).

Rules: parties created, edited (every synced field, clears included) and deleted in EspoCRM;
edited in Advoware's desktop; webhooks (create, update, delete — replays of a delete for a record
that still exists included) and the cron's check; a write that fails before (503) or after the
remote applied it, one refused (400), or a crash right after it; a lock held by a dead holder;
time passing.

After every step: no EspoCRM record is linked to two Advoware parties, no two records share one,
and a party the service POSTed is never POSTed twice for a record. At the end, with the faults
gone: two syncs converge (both sides equal), a third makes no write; every party the service
created is linked; every edit reached the other side — or, where both sides edited a field
differently since they last agreed, EspoCRM's value won and exactly one conflict notice says so.

Profiles: `ci` (bounded, derandomized; the default in CI) and `long` (HYPOTHESIS_PROFILE=long:
≥ 10,000 steps in all, see the README; PARTY_MACHINE_RUNS=N bounds the number of runs). The
examples it found are replayed step by step at the end of this file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.beteiligte.mapping import FIELDS, advo_to_party, espo_to_party
from services.beteiligte.ports import SyncSettings
from services.beteiligte.service import BeteiligteSyncService
from services.db import open_database
from services.sync.policy import RetryPolicy
from tests.beteiligte.fakes import Crash
from tests.beteiligte.world import START, ServiceWorld
from tests.beteiligte_service.conftest import FakeClock, MemoryLock
from tests.fixtures.machines import log_steps, profile_settings

MISSING = object()
SYNCED = frozenset({"created", "synced", "bookkeeping", "noop"})
TEXT = st.sampled_from([None, "", "Dr.", "Prof."])
DATES = st.sampled_from([None, "1970-01-02"])
EDITABLE = {  # EspoCRM attribute → (canonical field, values)
    "firstName": ("vorname", st.sampled_from([None, "Max", "Erika"])),
    "anrede": ("anrede", TEXT),
    "titel": ("titel", TEXT),
    "rechtsform": ("rechtsform", TEXT),
    "dateOfBirth": ("geburtsdatum", DATES),
}
ADVO_ATTR = {
    "vorname": "vorname",
    "anrede": "anrede",
    "titel": "titel",
    "rechtsform": "rechtsform",
    "geburtsdatum": "geburtsdatum",
}


FAULTS = ["before", "rejected", "after", "crash"]


def advo_date(value: str | None) -> str | None:
    return f"{value}T00:00:00" if value else value


class PartySyncMachine(RuleBasedStateMachine, ServiceWorld):
    records = Bundle("records")

    def __init__(self) -> None:
        super().__init__()
        self.open_world("party-machine-")
        # (record, canonical field) → edits since both sides last agreed: (step, side, value)
        self.edits: dict[tuple[str, str], list[tuple[int, str, Any]]] = defaultdict(list)
        self.deleted: set[str] = set()
        self.crashes: list[int] = []
        self.agreed: dict[tuple[str, str], Any] = {}  # the value both sides last held
        self.expected_notices: list[tuple[str, str, int]] = []  # (record, field, since step)
        self.steps_run = 0
        # (step, side, record, before, after, stamped) of unanswered writes; stamped: the service
        # stored the stamp the write carried (an EspoCRM write it can tell landed)
        self.landed: list[tuple[Any, ...]] = []
        self.names = 0

    def _tick(self) -> None:
        self.step_no += 1
        self.clock.now += timedelta(seconds=1)

    # -- EspoCRM users ----------------------------------------------------------------------------

    @initialize(target=records)
    def linked_party(self) -> str:
        """Every run starts with one party in both systems, so edits meet sooner."""
        rid = self.create(first="Max", titel=None, born=None)
        self.sync(rid, "create", bulk=False)
        return rid

    @precondition(lambda self: self.names < 3)  # few records: their histories interleave more
    @rule(target=records, first=EDITABLE["firstName"][1], titel=TEXT, born=DATES)
    def create(self, first: Any, titel: Any, born: Any) -> str:
        self._tick()
        self.names += 1
        data = {"lastName": f"Name{self.names}", "firstName": first, "titel": titel, "dateOfBirth": born}
        rid = self.espo.user_create(data)
        for f, v in espo_to_party(self.espo.records[rid]).to_json().items():
            self.edits[(rid, f)].append((self.step_no, "espo", v))
        return rid

    @rule(rid=records, attr=st.sampled_from(sorted(EDITABLE)), data=st.data())
    def espo_edit(self, rid: str, attr: str, data: st.DataObject) -> None:
        if rid not in self.espo.records:
            return
        self._tick()
        canon, values = EDITABLE[attr]
        before = espo_to_party(self.espo.records[rid]).to_json()[canon]
        self.espo.user_update(rid, {attr: data.draw(values)})
        value = espo_to_party(self.espo.records[rid]).to_json()[canon]
        if value != before:  # an edit that changes nothing is no edit to anyone
            self.edits[(rid, canon)].append((self.step_no, "espo", value))

    @rule(rid=records)
    def espo_rename(self, rid: str) -> None:
        if rid in self.espo.records:
            self._tick()
            self.names += 1
            self.espo.user_update(rid, {"lastName": f"Name{self.names}"})
            self.edits[(rid, "name")].append((self.step_no, "espo", f"Name{self.names}"))

    @rule(rid=records)
    def espo_delete(self, rid: str) -> None:
        if rid in self.espo.records:
            self._tick()
            self.espo.user_delete(rid)
            self.deleted.add(rid)

    # -- Advoware desktop users ---------------------------------------------------------------------

    @rule(rid=records, field_=st.sampled_from(sorted(ADVO_ATTR)), data=st.data())
    def advo_edit(self, rid: str, field_: str, data: st.DataObject) -> None:
        betnr = (self.espo.records.get(rid) or {}).get("betnr")
        if not betnr or betnr not in self.advo.parties:
            return
        self._tick()
        attr = next(a for a, (c, _) in EDITABLE.items() if c == field_)
        raw = data.draw(EDITABLE[attr][1])
        before = advo_to_party(self.advo.parties[int(betnr)], "person").to_json()[field_]
        self.advo.desktop_edit(
            int(betnr), {ADVO_ATTR[field_]: advo_date(raw) if field_ == "geburtsdatum" else raw}
        )
        value = advo_to_party(self.advo.parties[int(betnr)], "person").to_json()[field_]
        if value != before:
            self.edits[(rid, field_)].append((self.step_no, "advo", value))

    @rule(rid=records, attr=st.sampled_from(sorted(EDITABLE)), data=st.data())
    def both_edit(self, rid: str, attr: str, data: st.DataObject) -> None:
        """The same field edited in both systems before the next sync (a conflict)."""
        canon = EDITABLE[attr][0]
        self.espo_edit(rid, attr, data)
        self.advo_edit(rid, canon, data)

    # -- the service --------------------------------------------------------------------------------

    @rule(
        rid=records, action=st.sampled_from(["create", "update", "delete", "sync_check"]), bulk=st.booleans()
    )
    def sync(self, rid: str, action: str, bulk: bool) -> None:
        self._tick()
        self._handle(rid, action, bulk=bulk and action == "sync_check")

    def _handle(self, rid: str, action: str, bulk: bool = False) -> Any:
        try:
            return self._handle_once(rid, action, bulk)
        finally:
            self._posted()

    def _posted(self) -> None:
        """A POST carried the record's values as they were (no user edits during a run): both
        sides held them then, whatever happened after it in that run."""
        while self.advo.created:
            rid, betnr = self.advo.created.pop(0)
            posted = advo_to_party(self.advo.parties[betnr], "person").to_json()
            for f in FIELDS:
                self.edits[(rid, f)] = [e for e in self.edits[(rid, f)] if e[1] == "advo"]
                self.agreed[(rid, f)] = posted[f]

    def _handle_once(self, rid: str, action: str, bulk: bool) -> Any:
        earlier = [x for x in self.landed if x[2] == rid]
        known = self._landed_writes_still_held(rid)
        self.advo.syncing = rid
        trigger = f"vmh.beteiligte.{action}"
        before = self._run(self.db.get_snapshot(rid))
        equal_before = self._equal_fields(rid)
        self.faults.fired.clear()
        outcome, died = None, False
        try:
            outcome = self._run(self.service.handle(rid, action, trigger=trigger, trace_id="t", bulk=bulk))  # type: ignore[arg-type]
        except Crash:
            died = True
            self.crashes.append(self.step_no)  # the process died; the engine delivers the job again
        except Exception:
            pass  # even the failure booking failed: the engine retries the job
        finally:
            self.advo.syncing = None
            stamped = "stamp" in ((self._run(self.db.get_snapshot(rid)) or {}).get("inflight") or {})
            # A PUT answered in a run that died after it is known to the service as a landed one.
            answered = self.faults.answered if died else []
            self.landed += [(self.step_no, *x, stamped) for x in [*self.faults.landed, *answered]]
            self.faults.landed.clear()
            self.faults.answered.clear()
        # A run that stored what it saw has seen both sides: equal values are synced (also when
        # a later write of the run failed). A run stopped before (lock, backoff, a failed read)
        # or an initial sync that stored nothing has not.
        # A write whose answer was lost landed without the service knowing: only what was equal
        # before the run is known to it then.
        unknown = any(f in ("after", "crash") for f in self.faults.fired)
        stored = self._run(self.db.get_snapshot(rid)) != before
        decided = stored or (outcome is not None and outcome.plan is not None)
        if decided:
            self.landed = [x for x in self.landed if x not in earlier]
            self._learn_landed_writes(rid, known)
        if (outcome is not None and outcome.status in SYNCED) or stored:
            self.synced(rid, only=(equal_before | self._stored_and_held(rid)) if unknown else None)
        return outcome

    def _landed_writes_still_held(self, rid: str) -> list[tuple[int, str, Any]]:
        """Writes of `rid` that landed without an answer, as (step, field, value): the service
        learns them at its next run that decides (the writes in flight) — an EspoCRM write whose
        stamp it stored wholly (the record holds the stamp), any other write where its side still
        holds what it wrote (what a user changed meanwhile it cannot learn)."""
        held = []
        for landed in [x for x in self.landed if x[2] == rid]:
            step, side, _, before, after, stamped = landed
            known = stamped and side == "espo"
            read = espo_to_party if side == "espo" else (lambda r: advo_to_party(r, "person"))
            old, new = read(before).to_json(), read(after).to_json()
            now = self._side_values(rid, side)
            held += [
                (step, f, new[f])
                for f in FIELDS
                if old[f] != new[f] and now is not None and (known or now[f] == new[f])
            ]
        return held

    def _learn_landed_writes(self, rid: str, held: list[tuple[int, str, Any]]) -> None:
        """What a landed write wrote is then what both sides last agreed on — and it must have
        been the right value."""
        for step, f, value in held:
            history = self.edits[(rid, f)]
            self.edits[(rid, f)] = [e for e in history if e[0] <= step]
            self._check_field(rid, f, value)
            self.edits[(rid, f)] = [e for e in history if e[0] > step]
            self.agreed[(rid, f)] = value

    def _stored_and_held(self, rid: str) -> set[str]:
        """Fields whose stored value both sides hold after the run: the service takes them as
        agreed at its next run (its writes with a known answer landed), so the model does too."""
        stored = (self._run(self.db.get_snapshot(rid)) or {}).get("party") or {}
        espo, advo = self._side_values(rid, "espo"), self._side_values(rid, "advo")
        if espo is None or advo is None:
            return set()
        return {f for f in FIELDS if f in stored and stored[f] == espo[f] == advo[f]}

    def _side_values(self, rid: str, side: str) -> dict[str, Any] | None:
        record = self.espo.records.get(rid)
        if record is None:
            return None
        if side == "espo":
            return espo_to_party(record).to_json()
        party = self.advo.parties.get(int(record["betnr"])) if record.get("betnr") else None
        return advo_to_party(party, "person").to_json() if party else None

    def _equal_fields(self, rid: str) -> set[str]:
        record = self.espo.records.get(rid)
        party = self.advo.parties.get(int(record["betnr"])) if record and record.get("betnr") else None
        if party is None:
            return set()
        espo, advo = espo_to_party(record).to_json(), advo_to_party(party, "person").to_json()
        return {f for f in FIELDS if espo[f] == advo[f]}

    @rule(kind=st.sampled_from(["PUT", "POST", "espo"]), how=st.sampled_from(FAULTS))
    def arm_fault(self, kind: str, how: str) -> None:
        self.faults.armed[kind] = how

    @rule(
        rid=records,
        kind=st.sampled_from(["PUT", "POST", "espo"]),
        how=st.sampled_from(FAULTS),
    )
    def sync_with_a_failing_write(self, rid: str, kind: str, how: str) -> None:
        self.arm_fault(kind, how)
        self.sync(rid, "update", bulk=False)

    @rule(rid=records)
    def dead_holder(self, rid: str) -> None:
        self._run(self.lock.acquire(f"beteiligte:{rid}", 60, owner="crashed"))

    @rule(minutes=st.sampled_from([1, 5, 61, 300]))
    def wait(self, minutes: int) -> None:
        self.clock.now += timedelta(minutes=minutes)

    # -- invariants ---------------------------------------------------------------------------------

    @invariant()
    def never_two_parties_for_one_record(self) -> None:
        self.steps_run += 1  # invariants run once after every step: this counts the steps
        links = [r.get("betnr") for r in self.espo.records.values() if r.get("betnr")]
        assert len(links) == len(set(links)), "two EspoCRM records share one Advoware party"
        created = defaultdict(list)
        for betnr, rid in self.advo.creator.items():
            created[rid].append(betnr)
        for rid, betnrs in created.items():
            linked_elsewhere = {
                r["betnr"] for r in self.espo.records.values() if r.get("betnr") and r["id"] != rid
            }
            own = [b for b in betnrs if b not in linked_elsewhere]
            assert len(own) <= 1, f"{rid}: Advoware parties {own} created for one record"

    def synced(self, rid: str, only: set[str] | None = None) -> None:
        """A sync of `rid` ran through: where both sides now hold the same value, it must be the
        edit that should win, and from here on only later edits count. (Sides that agree by
        chance between syncs prove nothing: the service compares with what it last synced.)"""
        record = self.espo.records.get(rid)
        party = self.advo.parties.get(int(record["betnr"])) if record and record.get("betnr") else None
        if party is None:
            return
        espo, advo = espo_to_party(record).to_json(), advo_to_party(party, "person").to_json()
        for f in FIELDS:
            if espo[f] == advo[f] and (only is None or f in only):
                self._check_field(rid, f, espo[f])
                self.edits[(rid, f)] = []
                self.agreed[(rid, f)] = espo[f]

    # -- the end --------------------------------------------------------------------------------

    def teardown(self) -> None:
        log_steps("PARTY_MACHINE_STEP_LOG", self.steps_run)
        try:
            self._converge_and_check()
        finally:
            self.close_world()

    def _converge_and_check(self) -> None:
        self.faults.armed.clear()
        self.clock.now += timedelta(hours=5)  # dead holders' locks and every retry delay pass
        for _ in range(2):
            for rid in sorted(set(self.espo.records) | self.deleted):
                self._tick()
                self._handle(rid, "sync_check")
        writes = self.espo.writes + self.advo.writes
        for rid in sorted(self.espo.records):
            self._handle(rid, "sync_check")
        assert self.espo.writes + self.advo.writes == writes, "a third sync wrote"
        self._check_outcome()
        self._check_notices()

    def _check_outcome(self) -> None:
        linked = {int(r["betnr"]): rid for rid, r in self.espo.records.items() if r.get("betnr")}
        for betnr, creator in self.advo.creator.items():
            if creator not in self.deleted:
                assert betnr in linked, f"party {betnr} created for {creator} is linked to nobody"
        for rid, record in self.espo.records.items():
            assert record.get("betnr"), f"{rid} never reached Advoware ({record.get('syncStatus')})"
            assert record["syncStatus"] == "clean", (
                rid,
                record["syncStatus"],
                record.get("syncErrorMessage"),
            )
            espo = espo_to_party(record).to_json()
            advo = advo_to_party(self.advo.parties[int(record["betnr"])], "person").to_json()
            assert espo == advo, (rid, espo, advo)

    def _check_field(self, rid: str, f: str, agreed: Any) -> None:
        """An edit counts when it left its side on another value than both last held: an edit
        undone on the same side before the next sync is no change anyone could see."""
        base = self.agreed.get((rid, f), MISSING)
        history = self.edits[(rid, f)]
        mine = [e for e in history if e[1] == "espo"]
        theirs = [e for e in history if e[1] == "advo"]
        mine_counts = bool(mine) and mine[-1][2] != base
        theirs_counts = bool(theirs) and theirs[-1][2] != base
        if not mine_counts and not theirs_counts:
            if base is not MISSING:
                assert agreed == base, f"{rid}.{f}: changed to {agreed!r} without an edit"
            return
        if not theirs_counts:
            assert agreed == mine[-1][2], f"{rid}.{f}: the edit {mine[-1]} is lost"
            return
        if not mine_counts:
            assert agreed == theirs[-1][2], f"{rid}.{f}: the edit {theirs[-1]} is lost"
            return
        last_mine, last_theirs = mine[-1], theirs[-1]
        if last_mine[2] == last_theirs[2]:
            assert agreed == last_mine[2], f"{rid}.{f}: the same edit on both sides is lost"
            return
        assert agreed == last_mine[2], f"{rid}.{f}: EspoCRM's edit {last_mine} lost to {last_theirs}"
        # the notice may come later (held while a write's outcome is unknown): checked at the end
        self.expected_notices.append((rid, f, max(last_mine[0], last_theirs[0])))

    def _check_notices(self) -> None:
        """Exactly one conflict notice per overruled edit, sent after it and before the next
        conflict of the same field."""
        for n, (rid, f, since) in enumerate(self.expected_notices):
            later = [s for r, g, s in self.expected_notices[n + 1 :] if (r, g) == (rid, f)]
            until = min(later, default=float("inf"))
            notices = [
                x
                for x in self.espo.notices
                if x["id"] == rid
                and x["kind"] == "conflict"
                and since <= x["step"] < until
                and f" {f} in beiden" in x["message"]
            ]
            # A crash between the resolving write and the database commit loses that one notice
            # (documented in docs/beteiligte-sync.md); the values are right either way.
            crashed = any(since <= step < until for step in self.crashes)
            assert len(notices) == 1 or (crashed and not notices), (
                f"{rid}.{f}: {len(notices)} conflict notices"
            )


RUNS = int(os.environ.get("PARTY_MACHINE_RUNS") or 0)  # bounds a long run to the time at hand
PartySyncMachine.TestCase.settings = profile_settings(ci=(150, 40), long=(RUNS or 1000, 100))
TestPartySyncMachine = PartySyncMachine.TestCase


# --- examples the long profile found, replayed step by step ----------------------------------------


class Draws:
    """`st.data()` as a failing example drew it: the values in order."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def draw(self, strategy: Any) -> Any:
        return self.values.pop(0)


def test_a_failed_espocrm_write_whose_value_a_user_retypes_is_an_edit() -> None:
    """The pull of Advoware's new birth date failed (503, not applied); the EspoCRM user then typed
    that very date and the Advoware user cleared it again. The record lacks the failed write's
    stamp, so the date is EspoCRM's edit and reaches Advoware (it used to be taken for the
    service's own write, and Advoware's clear won without a notice)."""
    m = PartySyncMachine()
    rid = m.linked_party()
    m.sync_with_a_failing_write(rid, "espo", "before")  # armed; this run writes nothing
    m.both_edit(rid, "dateOfBirth", Draws(None, "1970-01-02"))  # Advoware sets the date
    m.sync(rid, "create", bulk=False)  # the pull fails
    m.both_edit(rid, "dateOfBirth", Draws("1970-01-02", None))
    m.teardown()  # converges, checks every edit and notice
    betnr = int(m.espo.records[rid]["betnr"])
    assert m.espo.records[rid]["dateOfBirth"] == "1970-01-02"
    assert m.advo.parties[betnr]["geburtsdatum"] == "1970-01-02T00:00:00"


def test_a_failed_put_whose_value_an_advoware_user_retypes_is_an_edit() -> None:
    """Both sides changed the first name; the PUT resolving the conflict failed (503, not
    applied); the EspoCRM user then undid the edit and the Advoware user typed the PUT's value
    (none). The read-back shows the party still at the rowId the PUT was built on, so nothing is
    in flight: Advoware's edit wins (it used to be taken for the service's own write and lost)."""
    m = PartySyncMachine()
    rid = m.linked_party()
    m.arm_fault("PUT", "before")
    m.both_edit(rid, "firstName", Draws(None, "Erika"))
    m.sync(rid, "update", bulk=False)  # the PUT fails
    m.both_edit(rid, "firstName", Draws("Max", None))
    m.teardown()
    betnr = int(m.espo.records[rid]["betnr"])
    assert m.espo.records[rid]["firstName"] is None and not m.advo.parties[betnr]["vorname"]


def test_a_rejected_put_leaves_nothing_in_flight() -> None:
    """A PUT refused with a 400 surely wrote nothing: the write ahead stored before it is
    replaced although nothing advanced. The Advoware user then typing the PUT's value while the
    EspoCRM user types another is a conflict, notified once (the write ahead used to stay and
    take the Advoware edit for the service's own write)."""
    m = PartySyncMachine()
    rid = m.linked_party()
    m.arm_fault("PUT", "rejected")
    m.espo_edit(rid, "titel", Draws("Dr."))
    m.sync(rid, "update", bulk=False)  # the PUT is rejected
    assert "inflight" not in m._run(m.db.get_snapshot(rid))
    m.advo_edit(rid, "titel", Draws("Dr."))
    m.espo_edit(rid, "titel", Draws("Prof."))
    m.teardown()  # EspoCRM's "Prof." won, and one conflict notice says so
    assert m.espo.records[rid]["titel"] == "Prof." and m.expected_notices


def test_a_put_answered_before_the_process_died_is_known_where_advoware_holds_it() -> None:
    """The PUT of titel "Dr." was answered, the process died right after the EspoCRM write; the
    EspoCRM user then cleared the titel, the Advoware user cleared and retyped "Dr.". Both sides
    held "Dr." after the PUT, so EspoCRM's clear wins (a model that forgot the answered PUT of
    a crashed run wanted Advoware's "Dr.")."""
    m = PartySyncMachine()
    rid = m.linked_party()
    m.espo_edit(rid, "titel", Draws("Dr."))
    m.sync_with_a_failing_write(rid, "espo", "crash")
    m.both_edit(rid, "titel", Draws(None, None))
    m.advo_edit(rid, "titel", Draws("Dr."))
    m.teardown()
    assert m.espo.records[rid]["titel"] is None


def test_a_conflict_resolved_by_the_put_is_notified_when_the_espocrm_write_is_rejected() -> None:
    """Both sides changed the first name; the PUT carried EspoCRM's value, then the EspoCRM write
    was rejected (400). The conflict is resolved: its notice goes out (it used to be never
    reached, and no later run saw the conflict again)."""
    m = PartySyncMachine()
    rid = m.linked_party()
    m.arm_fault("espo", "rejected")
    m.both_edit(rid, "firstName", Draws(None, "Erika"))
    m.sync(rid, "update", bulk=False)
    assert [n["kind"] for n in m.espo.notices] == ["conflict"]
    m.teardown()


def test_the_same_conflict_again_after_a_sync_is_notified_again() -> None:
    """anrede "Dr." (EspoCRM) against "Prof." (Advoware) is resolved and notified; Advoware's
    clear is pulled; then the same two values clash again. That is a new conflict with its own
    notice (the once-key used to hold the values only, and the second notice was suppressed)."""
    m = PartySyncMachine()
    rid = m.linked_party()
    m.both_edit(rid, "anrede", Draws("Dr.", "Prof."))
    m.sync(rid, "update", bulk=False)
    m.advo_edit(rid, "anrede", Draws(None))
    m.sync(rid, "update", bulk=False)
    m.both_edit(rid, "anrede", Draws("Dr.", "Prof."))
    m.teardown()
    assert [n["kind"] for n in m.espo.notices] == ["conflict", "conflict"]
