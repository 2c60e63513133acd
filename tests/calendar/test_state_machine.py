"""A hypothesis state machine over the real calendar sync and the three simulators over HTTP.

Rules: Termine created (timed, all-day, multi-day, a weekly series), edited (subject, times) and
deleted in Advoware; events created, edited and deleted by the employee in Google, and one
occurrence of a series moved or cancelled; syncs — clean, or with a fault: a write that fails,
a write whose answer is lost, the process killed right after a write, Google answering 429 to a
third of the calls; time passing.

After every step: no two events carry the same Termin, no two Termine hang on one event. After
every sync, each appointment whose sides agree agrees on what the model expects: an edit of one
side wins; edits of both sides → the owner's (source_system) wins and a conflict notice exists;
a Google delete of an Advoware appointment is restored with a notice; a delete wins over an edit
of the other side, with a notice. At the end, with the faults gone: the sync converges, then
makes 0 writes; every appointment is on both sides exactly once; series exceptions on Advoware's
series are put back (notified), on Google's they stay and the mapping waits (notified).

Profiles: `ci` (bounded, derandomized) and `long` (HYPOTHESIS_PROFILE=long, ≥ 10,000 steps in
all; CALENDAR_MACHINE_STEP_LOG=file appends each run's step count, see the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event as note
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.calendar.event_mapping import from_event
from services.calendar.ids import linked_frnr
from services.calendar.model import NotExpressible
from services.calendar.series import exceptions
from services.calendar.termin_mapping import from_termin
from tests.calendar.conftest import CalEnv, calendar_env, make_settings
from tests.clients.conftest import set_faults
from tests.fixtures.machines import log_steps, profile_settings

pytestmark = pytest.mark.timeout(900)
SB = "sb@kanzlei.example"
DELETED = "deleted"
KINDS = ("timed", "all-day", "multi-day", "weekly")
TEXTS = ("Besprechung", "Gerichtstermin", "Mandant", "Frist")
FAULTS = ("fail", "lost", "crash", "rate")
CRASH_LATENCY_MS = 300  # a crashed write's answer is held back this long (the process dies meanwhile)
WRITE_ROUTES = {  # (simulator, method, route glob) of each write
    "insert event": ("google", "POST", "*/events"),
    "patch event": ("google", "PATCH", "*/events/*"),
    "delete event": ("google", "DELETE", "*/events/*"),
    "create termin": ("advoware", "POST", "*/Termine"),
    "update termin": ("advoware", "PUT", "*/Termine/*"),
    "delete termin": ("advoware", "DELETE", "*/Termine/*"),
}


def termin_body(kind: str, day: date, text: str) -> dict[str, Any]:
    d = day.isoformat()
    if kind == "all-day":
        return {"datum": d, "datumBis": d, "dauertermin": 1, "text": text}
    if kind == "multi-day":
        return {"datum": d, "datumBis": (day + timedelta(days=2)).isoformat(), "dauertermin": 1, "text": text}
    body = {"datum": d, "uhrzeitVon": "10:00", "datumBis": d, "uhrzeitBis": "11:00", "text": text}
    if kind == "weekly":
        body |= {"turnus": 1, "turnusArt": 2, "turnusBis": (day + timedelta(weeks=5)).isoformat()}
    return body


def event_body(kind: str, day: date, text: str) -> dict[str, Any]:
    d = day.isoformat()
    if kind in ("all-day", "multi-day"):
        last = day + timedelta(days=1 if kind == "all-day" else 3)
        return {"summary": text, "start": {"date": d}, "end": {"date": last.isoformat()}}
    body: dict[str, Any] = {
        "summary": text,
        "start": {"dateTime": f"{d}T14:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{d}T15:00:00", "timeZone": "Europe/Berlin"},
    }
    if kind == "weekly":
        body["recurrence"] = [
            f"RRULE:FREQ=WEEKLY;UNTIL={(day + timedelta(weeks=5)).strftime('%Y%m%d')}T225959Z"
        ]
    return body


@dataclass
class Pair:
    """One appointment as the model sees it."""

    owner: str  # advoware | google
    frnr: int | None = None
    event_id: str | None = None
    series: bool = False
    base: str | None = None  # the content both sides last agreed on
    a_edits: list[str] = field(default_factory=list)  # content fingerprints (or DELETED) since then
    g_edits: list[str] = field(default_factory=list)
    frozen: bool = False  # Google's series with an exception: it waits, by design
    since: int = 0  # the step of the first edit since the last agreement
    reverted_due: bool = False  # an exception on Advoware's series: it must be put back
    # ... and then the whole series was deleted in Google, which cancels its exceptions with it:
    # the restore puts the series back whole, noticed as restored (no revert notice needed).
    restored_whole: bool = False
    done: bool = False  # deleted on both sides


class CalendarMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="calendar-machine-"))
        self.stack = contextlib.AsyncExitStack()
        env = calendar_env(self.dir, make_settings(max_events=1000))
        self.cal: CalEnv = self._run(self.stack.enter_async_context(env))
        self._run(self.cal.sync())  # the calendar exists and is shared
        self.calendar = self._run(self.cal.calendar_id())
        self.google = self.cal.owner.delegate(SB)
        self.pairs: list[Pair] = []
        self.steps = 0
        self.crashes: list[int] = []
        self.last_crash = 0.0  # time.monotonic() of the last crash
        self.day = 0
        self.seen_a: dict[int, set[str]] = {}  # every content each Termin had after a step
        self.seen_g: dict[str, set[str]] = {}  # the same for each event

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    # -- reading both sides -------------------------------------------------------------------
    def termin_fp(self, pair: Pair) -> str:
        found = self.cal.advo_sim.state.termine.get(pair.frnr) if pair.frnr else None
        return from_termin(found.to_api()).fingerprint() if found else DELETED

    def live_events(self) -> dict[str, dict[str, Any]]:
        listing = self._run(self.cal.owner.list_events(self.calendar))
        return {e["id"]: e for e in listing.items if not e.get("recurringEventId")}

    def event_of(self, pair: Pair, events: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        if pair.owner == "google":
            return events.get(str(pair.event_id))
        return next((e for e in events.values() if linked_frnr(e) == pair.frnr), None)

    def event_fp(self, pair: Pair, events: dict[str, dict[str, Any]]) -> str:
        event = self.event_of(pair, events)
        return from_event(event).fingerprint() if event else DELETED

    def live(self) -> list[Pair]:
        return [p for p in self.pairs if not p.done and not p.frozen]

    # -- Advoware's users ---------------------------------------------------------------------
    def _next_day(self) -> date:
        self.day += 3
        return date(2026, 3, 4) + timedelta(days=self.day % 90)

    @precondition(lambda self: len(self.pairs) < 8)
    @rule(kind=st.sampled_from(KINDS), text=st.sampled_from(TEXTS))
    def advo_create(self, kind: str, text: str) -> None:
        frnr = self._run(self.cal.termin(**termin_body(kind, self._next_day(), text)))
        pair = Pair("advoware", frnr=frnr, series=kind == "weekly")
        pair.a_edits.append(self.termin_fp(pair))
        self.pairs.append(pair)

    def _pick(self, data: st.DataObject, pairs: list[Pair]) -> Pair | None:
        return data.draw(st.sampled_from(pairs)) if pairs else None

    @rule(data=st.data(), text=st.sampled_from(TEXTS), shift=st.sampled_from([0, 1]))
    def advo_edit(self, data: st.DataObject, text: str, shift: int) -> None:
        pair = self._pick(data, [p for p in self.live() if p.frnr and self.termin_fp(p) != DELETED])
        if pair is None:
            return
        termin = self.cal.advo_sim.state.termine[pair.frnr].to_api()  # type: ignore[index]
        change: dict[str, Any] = {"text": text}
        if shift and termin.get("uhrzeitVon"):
            change |= {"uhrzeitVon": "12:00:00", "uhrzeitBis": "13:30:00"}
        self._run(self.cal.advoware.update_termin(int(pair.frnr), change))  # type: ignore[arg-type]
        pair.a_edits.append(self.termin_fp(pair))

    @rule(data=st.data())
    def advo_delete(self, data: st.DataObject) -> None:
        pair = self._pick(data, [p for p in self.live() if p.frnr and self.termin_fp(p) != DELETED])
        if pair is None:
            return
        self._run(self.cal.advoware.delete_termin(int(pair.frnr)))  # type: ignore[arg-type]
        pair.a_edits.append(DELETED)

    # -- the employee in Google ---------------------------------------------------------------
    @precondition(lambda self: len(self.pairs) < 8)
    @rule(kind=st.sampled_from(KINDS), text=st.sampled_from(TEXTS))
    def google_create(self, kind: str, text: str) -> None:
        created = self._run(self.google.insert_event(self.calendar, event_body(kind, self._next_day(), text)))
        pair = Pair("google", event_id=created["id"], series=kind == "weekly")
        pair.g_edits.append(from_event(created).fingerprint())
        self.pairs.append(pair)

    @rule(data=st.data(), text=st.sampled_from(TEXTS), shift=st.sampled_from([0, 1]))
    def google_edit(self, data: st.DataObject, text: str, shift: int) -> None:
        events = self.live_events()
        pair = self._pick(data, [p for p in self.live() if self.event_of(p, events)])
        if pair is None:
            return
        event = self.event_of(pair, events)
        assert event is not None
        change: dict[str, Any] = {"summary": text}
        if shift and "dateTime" in event["start"]:
            day = event["start"]["dateTime"][:10]
            change |= {"start": {"dateTime": f"{day}T16:00:00", "timeZone": "Europe/Berlin"},
                       "end": {"dateTime": f"{day}T17:15:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
        updated = self._run(self.google.patch_event(self.calendar, event["id"], change))
        pair.g_edits.append(from_event(updated).fingerprint())

    @rule(data=st.data())
    def google_delete(self, data: st.DataObject) -> None:
        events = self.live_events()
        pair = self._pick(data, [p for p in self.live() if self.event_of(p, events)])
        if pair is None:
            return
        event = self.event_of(pair, events)
        assert event is not None
        self._run(self.google.delete_event(self.calendar, event["id"]))
        pair.g_edits.append(DELETED)
        pair.restored_whole = pair.reverted_due and pair.series and pair.owner == "advoware"

    @rule(data=st.data(), cancel=st.booleans())
    def google_exception(self, data: st.DataObject, cancel: bool) -> None:
        """One occurrence of an agreed series moved or cancelled in Google."""
        events = self.live_events()
        candidates = [p for p in self.live() if p.series and p.base and not p.a_edits and not p.g_edits]
        pair = self._pick(data, [p for p in candidates if self.event_of(p, events)])
        if pair is None:
            return
        master = self.event_of(pair, events)
        assert master is not None
        instance = self._run(self.google.list_instances(self.calendar, master["id"]))[1]
        if cancel:
            self._run(self.google.delete_event(self.calendar, instance["id"]))
        else:
            day = instance["start"]["dateTime"][:10]
            moved = {"start": {"dateTime": f"{day}T18:00:00", "timeZone": "Europe/Berlin"},
                     "end": {"dateTime": f"{day}T19:00:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
            self._run(self.google.patch_event(self.calendar, instance["id"], moved))
        if pair.owner == "google":
            pair.frozen = True
        else:
            pair.reverted_due = True

    # -- the service --------------------------------------------------------------------------
    @rule()
    def sync(self) -> None:
        self._sync(None, None)

    @rule(data=st.data(), fault=st.sampled_from(FAULTS))
    def sync_with_fault(self, data: st.DataObject, fault: str) -> None:
        self._sync(fault, data.draw(st.sampled_from(self._likely_writes() or sorted(WRITE_ROUTES))))

    def _likely_writes(self) -> list[str]:
        """The writes the edits since the last agreement call for, so that most faults hit one."""
        found: set[str] = set()
        for pair in self.live():
            a, g = pair.a_edits[-1:], pair.g_edits[-1:]
            if a == [DELETED]:
                found.add("delete event")
            elif a:
                found.add("patch event" if pair.base else "insert event")
            if g == [DELETED]:
                found.add("delete termin" if pair.owner == "google" else "patch event")
            elif g:
                found |= {"update termin"} if pair.base else {"create termin", "patch event"}
            if pair.reverted_due:
                found.add("patch event")
        return sorted(found)

    @rule(minutes=st.sampled_from([1, 10, 90]))
    def time_passes(self, minutes: int) -> None:
        self.cal.clock.advance(minutes=minutes)

    def _sync(self, fault: str | None, write: str | None) -> None:
        self.cal.clock.advance(seconds=30)
        sim, method, route = WRITE_ROUTES[write] if write else ("google", "*", "*")
        root = self.cal.google_sim.root if sim == "google" else self.cal.advo_sim.url.rstrip("/")
        rule_: dict[str, Any] = {"method": method, "route": route, "count": 1}
        if fault == "fail":
            self._run(set_faults(root, {**rule_, "status": 503, "count": 8}))
        elif fault == "lost":
            self._run(set_faults(root, {**rule_, "status": 503, "after_write": True}))
        elif fault == "rate":
            self._run(
                set_faults(self.cal.google_sim.root, {"route": "/calendar/v3/*", "status": 429, "rate": 0.34})
            )
        if fault == "crash":
            self._run(set_faults(root, {**rule_, "status": None, "latency_after_ms": CRASH_LATENCY_MS}))
            self._run(self._crash(sim))
        else:
            with contextlib.suppress(Exception):  # a failed read: the engine would retry the job
                self._run(self.cal.sync())
        if fault in ("fail", "lost", "crash"):  # did the run reach that write? (statistics)
            sim_ = self.cal.google_sim if sim == "google" else self.cal.advo_sim
            rules = sim_.core.faults.rules
            fired = bool(rules) and rules[0].count != (8 if fault == "fail" else 1)
            note(f"{fault} on {write}: {'hit' if fired else 'no such write'}")
        self._run(set_faults(self.cal.google_sim.root))
        self._run(set_faults(self.cal.advo_sim.url.rstrip("/")))
        self.check_agreements()

    async def _crash(self, sim_name: str) -> None:
        sim = self.cal.google_sim if sim_name == "google" else self.cal.advo_sim
        run = asyncio.create_task(self.cal.sync())
        while not run.done() and sim.core.faults.rules and sim.core.faults.rules[0].count:
            await asyncio.sleep(0.005)
        if run.done():  # no such write this time
            with contextlib.suppress(Exception):
                await run
            return
        await asyncio.sleep(0.02)
        self.crashes.append(self.steps)
        self.last_crash = time.monotonic()
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        self.cal.lock.held.clear()  # the dead process's lock would expire

    # -- what must hold -----------------------------------------------------------------------
    @invariant()
    def no_duplicates(self) -> None:
        self.steps += 1  # after every rule (and once after the start)
        events = self.cal.google_sim.state.calendars[self.calendar].events.values()
        links = [
            linked_frnr(_props(e)) for e in events if e.status != "cancelled" and not e.recurring_event_id
        ]
        linked = [f for f in links if f is not None]
        assert len(linked) == len(set(linked)), f"two events carry one Termin: {sorted(linked)}"
        mine = {p.frnr for p in self.pairs if p.owner == "advoware"}
        born_in_google = [f for f in self.cal.advo_sim.state.termine if f not in mine]
        google_pairs = [p for p in self.pairs if p.owner == "google"]
        assert len(born_in_google) <= len(google_pairs), "a Google event was POSTed to Advoware twice"

    @invariant()
    def state_never_ahead(self) -> None:
        """Stored sync state advances only for what was applied: a synced mapping's fingerprints
        are contents its Termin and its event really had (as seen after some step); a write that
        failed, lost its answer or died with the process may leave the state behind, never ahead."""
        for frnr, termin in self.cal.advo_sim.state.termine.items():
            self.seen_a.setdefault(frnr, set()).add(_fingerprint(from_termin, termin.to_api()))
        for event_id, event in self.live_events().items():
            self.seen_g.setdefault(event_id, set()).add(_fingerprint(from_event, event))
        for m in self._run(self.cal.mappings()):
            if m.status != "synced":
                continue
            assert m.advoware_fingerprint in self.seen_a.get(m.advoware_frnr or 0, ()), ("Termin", m)
            assert m.google_fingerprint in self.seen_g.get(str(m.google_event_id), ()), ("event", m)

    def check_agreements(self) -> None:
        events = self.live_events()
        for pair in self.live():
            if pair.owner == "google" and pair.frnr is None and pair.event_id:
                event = events.get(pair.event_id)
                pair.frnr = linked_frnr(event) if event else None
            a = self.termin_fp(pair) if pair.frnr else DELETED
            g = self.event_fp(pair, events)
            if pair.owner == "google" and pair.frnr is None and g != DELETED:
                continue  # not in Advoware yet
            if a != g:
                continue
            self._agreed(pair, a)

    def _agreed(self, pair: Pair, content: str) -> None:
        expected, notice = expect(pair)
        assert content == expected, (pair, content, expected)
        # A process killed between the resolving write and storing its notice loses that notice
        # (the next run finds nothing left to resolve); documented in docs/calendar.md.
        crashed = any(step >= pair.since for step in self.crashes)
        if notice is not None and not crashed:
            assert self._notified(pair, notice), f"no {notice} notice for {pair}"
        pair.base, pair.a_edits, pair.g_edits, pair.since = content, [], [], self.steps
        pair.done = content == DELETED

    def _notified(self, pair: Pair, kind: str) -> bool:
        found = self._run(self.cal.notices(kind))
        return any(
            n["data"].get("frnr") == pair.frnr or (pair.event_id and n["data"].get("event") == pair.event_id)
            for n in found
        )

    def teardown(self) -> None:
        try:
            log_steps("CALENDAR_MACHINE_STEP_LOG", self.steps - 1)
            self._converge_and_check()
        finally:
            self._run(self.stack.aclose())
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _converge_and_check(self) -> None:
        outcome = self._run(self.cal.converge(runs=12))
        assert outcome.status == "noop", (outcome.status, outcome.error)
        self.check_agreements()
        # The simulator counts a dead run's last write when its held-back answer goes out, which
        # may be after the counters are reset (found as a one-off 'a converged sync wrote' that
        # hypothesis could not replay: a PUT counted with no plan run): let it go out first.
        self._run(asyncio.sleep(max(0.0, self.last_crash + CRASH_LATENCY_MS / 1000 + 0.1 - time.monotonic())))
        self.cal.reset_counters()
        again = self._run(self.cal.sync())
        assert again.status == "noop" and self.cal.writes() == 0, (
            "a converged sync wrote",
            again.status,
            dict(again.done),
            {k: n for k, n in [*self.cal.google_calls().items(), *self.cal.advo_calls().items()]},
        )
        events = self.live_events()
        for pair in self.pairs:
            if pair.frozen:
                assert self._notified(pair, "manual_action"), pair
                assert sum(1 for e in events.values() if e["id"] == pair.event_id) == 1
                continue
            assert pair.done or (not pair.a_edits and not pair.g_edits), f"never agreed: {pair}"
            if pair.reverted_due and not pair.done:
                master = self.event_of(pair, events)
                noticed = self._notified(pair, "change_reverted") or (
                    pair.restored_whole and self._notified(pair, "event_restored")
                )
                assert master is not None and noticed, pair
                instances = self._run(
                    self.google.list_instances(self.calendar, master["id"], show_deleted=True)
                )
                assert exceptions(from_event(master), instances) == [], pair
        linked = {linked_frnr(e) for e in events.values()}
        assert set(self.cal.termine()) <= linked, "a Termin without its event"
        assert len(events) == len(self.cal.termine()), "an event without its Termin"


def expect(pair: Pair) -> tuple[str, str | None]:
    """The content the sides must agree on, and the notice that must exist, from the edits since
    the last agreement: one side's edit wins; a delete wins over the other side's edit (noticed),
    except a Google delete of an Advoware appointment, which is restored (noticed); two edits →
    the owner's (noticed)."""
    a = _counted(pair.a_edits, pair.base)
    g = _counted(pair.g_edits, pair.base)
    current_a = pair.a_edits[-1] if pair.a_edits else pair.base
    if a == DELETED:
        return DELETED, "conflict" if g is not None and g != DELETED else None
    if g == DELETED:
        if pair.owner == "advoware":
            return str(current_a), "event_restored"
        return DELETED, "conflict" if a is not None else None
    if a is None or g is None:
        winner = a if a is not None else g
        return str(winner if winner is not None else pair.base), None
    if a == g:
        return a, None
    return (a, "conflict") if pair.owner == "advoware" else (g, "conflict")


def _counted(edits: list[str], base: str | None) -> str | None:
    """The side's last edit, if it leaves the side on something else than both last agreed on."""
    return edits[-1] if edits and edits[-1] != base else None


def _fingerprint(read: Any, body: dict[str, Any]) -> str:
    try:
        return str(read(body).fingerprint())
    except NotExpressible as exc:
        return exc.reason


def _props(event: Any) -> dict[str, Any]:
    return {"extendedProperties": event.fields.get("extendedProperties") or {}}


CalendarMachine.TestCase.settings = profile_settings(ci=(20, 30), long=(250, 60))
TestCalendarMachine = CalendarMachine.TestCase
