"""A hypothesis state machine over the real party sync — decisions, runner, flows, the service
database (SQLite) — with in-memory EspoCRM and Advoware (tests/beteiligte/fakes.py), for the
party's Kommunikation entries and addresses.

Rules: EspoCRM users add, remove and change e-mails and phones, move the primary, change a
phone's type, toggle flags; Advoware desktop users add, change, empty and remove entries, type
into slots, toggle `online`, add duplicates and e-mails EspoCRM would refuse; addresses are
added, edited (writable and read-only fields) and deleted on both sides. The service syncs
(webhook and cron checks, now and then an operator's one-way run); a write fails before or
after the remote applied it, or the process dies right after it; time passes.

Invariants after every step: the service never writes a value an entry of the same set already
holds (no duplicate on either side), never creates two Advoware addresses for one EspoCRM
address. At the end, with the faults gone: two syncs converge (both sides hold the same values
and addresses), a third makes no write; every edit reached the other side — or, where both
sides edited the same value differently since they last agreed, a conflict notice says so; a
read-only address field EspoCRM changed is a manual action, never silently lost.

Profiles: `ci` (bounded, derandomized) and `long` (HYPOTHESIS_PROFILE=long; the step count of
a run is written to KOMM_MACHINE_STEP_LOG when set).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.beteiligte.kommunikation.kinds import EMAIL_RE, normalise, set_of
from services.beteiligte.ports import SyncSettings
from services.beteiligte.service import BeteiligteSyncService
from services.db import open_database
from services.sync.policy import RetryPolicy
from tests.beteiligte.fakes import Crash
from tests.beteiligte.world import START, ServiceWorld
from tests.beteiligte_service.conftest import FakeClock, MemoryLock
from tests.fixtures.machines import log_steps, profile_settings

EMAILS = ["a@x.de", "b@x.de", "c@x.de", "C@X.de", "d@x.de"]
BAD = "kein-at"  # an Advoware e-mail EspoCRM would refuse
PHONES = ["+49 1", "+49 2", "+49 3", "+49 4", "+49 5"]
TYPES = ["Office", "Mobile", "Home", "Fax", "Other"]
PHONE_KINDS = [1, 2, 3, 6, 7, 9, 10]
WRITABLE = ["strasse", "plz", "ort", "anschrift"]
READ_ONLY = ["land", "postfach"]
STREETS = ["Hauptstr. 1", "Ring 5", "Domplatz 2", "Lager 3"]
TOWNS = ["Köln", "Bonn", "Hürth"]
SETS = {"email": "emailAddressData", "phone": "phoneNumberData"}
KEYS = {"email": "emailAddress", "phone": "phoneNumber"}
# "espo": the party's EspoCRM write (carrying the sets); the others: entry and address writes,
# CAdressen create and delete.
FAULT_KINDS = ["espo", "KPUT", "KPOST", "APUT", "APOST", "espo_create", "espo_delete"]
SYNCED = frozenset({"created", "synced", "bookkeeping", "noop"})


def norm(set_name: str, value: str) -> str:
    return normalise(set_name, value)  # type: ignore[arg-type]


class KommunikationMachine(RuleBasedStateMachine, ServiceWorld):
    def __init__(self) -> None:
        super().__init__()
        self.open_world("komm-machine-")
        # (set, normalised value) → user edits since both sides last agreed: (step, side, present)
        self.edits: dict[tuple[str, str], list[tuple[int, str, bool]]] = defaultdict(list)
        self.unknown_runs: list[int] = []  # steps of runs whose write may have landed unseen
        self.pid, self.betnr = "", 0
        self.second_entries: dict[tuple[str, str], set[int]] = defaultdict(set)  # see _desktop
        self.synced_when_removed: dict[tuple[str, str], int | None] = {}  # see _second_entry_holds
        self.espo_deleted: set[str] = set()  # EspoCRM addresses a user deleted (tombstones)

    def _tick(self) -> None:
        self.step_no += 1
        self.clock.now += timedelta(seconds=1)

    # -- both sides as sets of values ---------------------------------------------------------

    def espo_items(self, set_name: str) -> list[dict[str, Any]]:
        return [dict(i) for i in self.espo.records[self.pid].get(SETS[set_name]) or []]

    def espo_values(self, set_name: str) -> set[str]:
        return {norm(set_name, i[KEYS[set_name]]) for i in self.espo_items(set_name)}

    def entries(self) -> list[dict[str, Any]]:
        return self.advo.parties[self.betnr].setdefault("kommunikation", [])

    def advo_values(self, set_name: str) -> set[str]:
        out = set()
        for e in self.entries():
            kind_set = set_of(int(e["kommKz"]))
            if (
                kind_set == set_name
                and e["tlf"].strip()
                and not (set_name == "email" and not EMAIL_RE.match(e["tlf"].strip()))
            ):
                out.add(norm(set_name, e["tlf"]))
        return out

    def _presence(self) -> dict[tuple[str, str], tuple[bool, bool]]:
        keys = {(s, v) for s in SETS for v in self.espo_values(s) | self.advo_values(s)} | set(self.edits)
        return {(s, v): (v in self.espo_values(s), v in self.advo_values(s)) for s, v in keys}

    def _edit(self, side: str, set_name: str, before: set[str], after: set[str]) -> None:
        for v in before - after:
            self.edits[(set_name, v)].append((self.step_no, side, False))
        for v in after - before:
            self.edits[(set_name, v)].append((self.step_no, side, True))

    # -- the party ------------------------------------------------------------------------------

    @initialize()
    def party(self) -> None:
        data = {
            "lastName": "Muster",
            "firstName": "Max",
            "emailAddressData": [{"emailAddress": "a@x.de", "primary": True}],
            "phoneNumberData": [{"phoneNumber": "+49 1", "type": "Office", "primary": True}],
        }
        self.pid = self.espo.user_create(data)
        self.espo.user_address(
            self.pid, {"strasse": "Hauptstr. 1", "plz": "50667", "ort": "Köln", "istStandard": True}
        )
        self._run(self.service.handle(self.pid, "create", trigger="vmh.beteiligte.create", trace_id="t"))
        self.betnr = int(self.espo.records[self.pid]["betnr"])

    # -- EspoCRM users --------------------------------------------------------------------------

    def _write_set(self, set_name: str, items: list[dict[str, Any]]) -> None:
        before = self.espo_values(set_name)
        self.espo.user_update(self.pid, {SETS[set_name]: items})
        self._edit("espo", set_name, before, self.espo_values(set_name))
        for v in before - self.espo_values(set_name):
            self.synced_when_removed[(set_name, v)] = self._synced_id((set_name, v))

    def _synced_id(self, key: tuple[str, str]) -> int | None:
        """The entry the service's state syncs for this value, if any."""
        rows = (self._run(self.db.get_snapshot(self.pid)) or {}).get("komm") or []
        ids = [
            int(r["id"])
            for r in rows
            if set_of(int(r["kind"])) == key[0] and norm(key[0], r["value"]) == key[1]
        ]
        return ids[0] if ids else None

    @rule(set_name=st.sampled_from(sorted(SETS)), data=st.data())
    def espo_add(self, set_name: str, data: st.DataObject) -> None:
        self._tick()
        value = data.draw(st.sampled_from(EMAILS if set_name == "email" else PHONES))
        items = self.espo_items(set_name)
        if norm(set_name, value) in self.espo_values(set_name):
            return
        item = {KEYS[set_name]: value, "primary": False}
        if set_name == "phone":
            item["type"] = data.draw(st.sampled_from(TYPES))
        self._write_set(set_name, [*items, item])

    @rule(set_name=st.sampled_from(sorted(SETS)), data=st.data())
    def espo_remove(self, set_name: str, data: st.DataObject) -> None:
        items = self.espo_items(set_name)
        if items:
            self._tick()
            items.pop(data.draw(st.integers(0, len(items) - 1)))
            self._write_set(set_name, items)

    @rule(set_name=st.sampled_from(sorted(SETS)), data=st.data())
    def espo_change(self, set_name: str, data: st.DataObject) -> None:
        items = self.espo_items(set_name)
        value = data.draw(st.sampled_from(EMAILS if set_name == "email" else PHONES))
        if items and norm(set_name, value) not in self.espo_values(set_name):
            self._tick()
            items[data.draw(st.integers(0, len(items) - 1))][KEYS[set_name]] = value
            self._write_set(set_name, items)

    @rule(set_name=st.sampled_from(sorted(SETS)), data=st.data())
    def espo_primary(self, set_name: str, data: st.DataObject) -> None:
        items = self.espo_items(set_name)
        if items:
            self._tick()
            chosen = data.draw(st.integers(0, len(items) - 1))
            self._write_set(set_name, [{**i, "primary": n == chosen} for n, i in enumerate(items)])

    @rule(data=st.data())
    def espo_type_or_flag(self, data: st.DataObject) -> None:
        items = self.espo_items("phone")
        if items:
            self._tick()
            n = data.draw(st.integers(0, len(items) - 1))
            if data.draw(st.booleans()):
                items[n]["type"] = data.draw(st.sampled_from(TYPES))
            else:
                items[n]["optOut"] = not items[n].get("optOut")
            self._write_set("phone", items)

    # -- Advoware desktop users -----------------------------------------------------------------

    def _desktop(self, change: Any, typed: tuple[str, str, int | None] | None = None) -> None:
        """A desktop edit; `typed` (set, value, entry id — None: the id `change` returns): a
        value the user typed into an entry — an entry of its own even when another entry
        already holds that value, or the entry the service syncs for it held it until lately (then the entries holding it are remembered as a group of
        duplicates: which of them the service syncs is its choice — the one its state knows,
        else the lowest id — not the order they were typed in)."""
        before = {s: self.advo_values(s) for s in SETS}
        held = {e["id"]: e["tlf"] for e in self.entries()}
        kinds = {e["id"]: int(e["kommKz"]) for e in self.entries()}
        entry_id = change()
        for s in SETS:
            self._edit("advo", s, before[s], self.advo_values(s))
        if typed is None:
            return
        set_name, value, known_id = typed
        key = (set_name, norm(set_name, value))
        entry_id = known_id if known_id is not None else entry_id
        if norm(set_name, held.get(entry_id) or "") == key[1]:
            return  # typed the value the entry already held: no edit
        if key[1] in self.advo_values(set_name) and key[1] in before[set_name]:
            self.edits[key].append((self.step_no, "advo+", True))
            holders = {
                i for i, tlf in held.items() if set_of(kinds[i]) == set_name and norm(set_name, tlf) == key[1]
            }
            self.second_entries[key] |= {int(i) for i in holders} | {int(entry_id)}
        elif (synced := self._synced_id(key)) is not None and synced != int(entry_id):
            # typed again after the synced entry lost it (deleted, emptied, changed): this
            # entry is one of its own too, new in Advoware — not the synced one come back
            self.second_entries[key].add(int(entry_id))

    def _second_entry_holds(self, key: tuple[str, str]) -> bool:
        """A second Advoware entry of this value still holds it: an entry of its own, which an
        EspoCRM removal of the synced entry does not remove — merged both ways (SYNC_RULES §2:
        duplicates are left alone while duplicated; alone, it is new in Advoware). Of a group
        of duplicates, the entry the service synced when EspoCRM removed the value does not
        count (that removal empties it)."""
        ids = (self.second_entries.get(key) or set()) - {self.synced_when_removed.get(key)}
        return any(
            e["id"] in ids and set_of(int(e["kommKz"])) == key[0] and norm(key[0], e["tlf"]) == key[1]
            for e in self.entries()
            if e["tlf"].strip()
        )

    @rule(data=st.data())
    def advo_add(self, data: st.DataObject) -> None:
        self._tick()
        if data.draw(st.booleans()):
            value, kind = data.draw(st.sampled_from([*EMAILS, BAD])), data.draw(st.sampled_from([4, 8]))
        else:
            value, kind = (
                data.draw(st.sampled_from([*PHONES, "+491"])),
                data.draw(st.sampled_from(PHONE_KINDS)),
            )
        online = data.draw(st.booleans())
        set_name = "email" if kind in (4, 8) else "phone"
        self._desktop(
            lambda: self.advo.desktop_entry(self.betnr, value, kind, online), (set_name, value, None)
        )

    def _pick_entry(self, data: st.DataObject, live: bool = True) -> dict[str, Any] | None:
        pool = [e for e in self.entries() if bool(e["tlf"].strip()) == live]
        return data.draw(st.sampled_from(pool)) if pool else None

    @rule(data=st.data())
    def advo_change(self, data: st.DataObject) -> None:
        entry = self._pick_entry(data)
        if entry is not None:
            self._tick()
            set_name = str(set_of(int(entry["kommKz"])))
            value = data.draw(st.sampled_from(EMAILS if set_name == "email" else PHONES))
            change = {"tlf": value}
            self._desktop(
                lambda: self.advo.desktop_entry_edit(self.betnr, entry["id"], change),
                (set_name, value, entry["id"]),
            )

    @rule(data=st.data())
    def advo_empty_or_remove(self, data: st.DataObject) -> None:
        entry = self._pick_entry(data)
        if entry is not None:
            self._tick()
            if data.draw(st.booleans()):
                self._desktop(lambda: self.advo.desktop_entry_edit(self.betnr, entry["id"], {"tlf": ""}))
            else:
                party = self.advo.parties[self.betnr]
                self._desktop(
                    lambda: party.update(kommunikation=[e for e in self.entries() if e is not entry])
                )
                self._unknowable_delete(entry)

    def _unknowable_delete(self, entry: dict[str, Any]) -> None:
        """A known limit: the entry of a POST whose answer was lost, deleted (not emptied) by a
        desktop user before the next run, leaves no trace — the service cannot tell it from a
        POST that never landed, and POSTs again (its marker finds an emptied entry, not a gone
        one). That removal is not counted as an edit the service must carry."""
        snapshot = self._run(self.db.get_snapshot(self.pid)) or {}
        posts = (snapshot.get("kommInFlight") or {}).get("posts") or []
        known = {int(r["id"]) for r in snapshot.get("komm") or []}
        ours = any(
            int(p["kind"]) == int(entry["kommKz"]) and str(p["tlf"]).strip() == entry["tlf"].strip()
            for p in posts
        )
        set_name = set_of(int(entry["kommKz"]))
        if ours and int(entry["id"]) not in known and set_name is not None:
            key = (set_name, norm(set_name, entry["tlf"]))
            self.edits[key] = [
                (n, "advo?" if (n, side) == (self.step_no, "advo") else side, p)
                for n, side, p in self.edits[key]
            ]

    @rule(data=st.data())
    def advo_fill_slot(self, data: st.DataObject) -> None:
        slot = self._pick_entry(data, live=False)
        if slot is not None:
            self._tick()
            set_name = str(set_of(int(slot["kommKz"])))
            value = data.draw(st.sampled_from(EMAILS if set_name == "email" else PHONES))
            change = {"tlf": value}
            self._desktop(
                lambda: self.advo.desktop_entry_edit(self.betnr, slot["id"], change),
                (set_name, value, slot["id"]),
            )

    @rule(data=st.data())
    def advo_online_or_note(self, data: st.DataObject) -> None:
        entry = self._pick_entry(data)
        if entry is not None:
            self._tick()
            if data.draw(st.booleans()):
                change = {"online": not entry["online"]}
            else:
                change = {"bemerkung": entry["bemerkung"] + " notiz"}
            self.advo.desktop_entry_edit(self.betnr, entry["id"], change)

    # -- addresses on both sides ----------------------------------------------------------------

    def _espo_addresses(self) -> list[dict[str, Any]]:
        return [a for a in self.espo.addresses.values() if a.get("beteiligteId") == self.pid]

    @rule(data=st.data())
    def espo_address(self, data: st.DataObject) -> None:
        self._tick()
        existing = self._espo_addresses()
        choice = data.draw(st.sampled_from(["add", "edit", "edit", "delete"]))
        if choice == "add" or not existing:
            if len(existing) < 3:
                self.espo.user_address(self.pid, {"strasse": data.draw(st.sampled_from(STREETS)), "plz": "50667",
                                                  "ort": data.draw(st.sampled_from(TOWNS))})  # fmt: skip
            return
        address = data.draw(st.sampled_from(existing))
        if choice == "delete":
            self.espo.addresses.pop(address["id"])
            self.espo_deleted.add(address["id"])
            return
        field = data.draw(st.sampled_from(WRITABLE + READ_ONLY))
        value = (
            data.draw(st.sampled_from(TOWNS if field != "strasse" else STREETS))
            if field in WRITABLE
            else "AT"
        )
        self.espo.user_address_update(address["id"], {field: value})

    @rule(data=st.data())
    def advo_address(self, data: st.DataObject) -> None:
        self._tick()
        existing = self.advo.parties[self.betnr].setdefault("adressen", [])
        choice = data.draw(st.sampled_from(["add", "edit", "edit", "delete"]))
        if choice == "add" or not existing:
            if len(existing) < 3:
                self.advo.desktop_address(self.betnr, {"strasse": data.draw(st.sampled_from(STREETS)), "plz": "10115",
                                                       "ort": data.draw(st.sampled_from(TOWNS))})  # fmt: skip
            return
        address = data.draw(st.sampled_from(existing))
        if choice == "delete":
            self.advo.desktop_address_delete(self.betnr, address["id"])
            return
        field = data.draw(st.sampled_from(WRITABLE + READ_ONLY))
        value = (
            data.draw(st.sampled_from(TOWNS if field != "strasse" else STREETS))
            if field in WRITABLE
            else "DE"
        )
        self.advo.desktop_address_edit(self.betnr, address["id"], {field: value})

    # -- the service ----------------------------------------------------------------------------

    @rule(action=st.sampled_from(["update", "sync_check", "sync_check"]))
    def sync(self, action: str) -> None:
        self._tick()
        self._handle(action)

    @rule(direction=st.sampled_from(["to_espocrm", "to_advoware"]))
    def one_way(self, direction: str) -> None:
        self._tick()
        self._handle("sync_check", direction=direction)

    @rule(kind=st.sampled_from(FAULT_KINDS), how=st.sampled_from(["before", "after", "crash"]))
    def sync_with_a_failing_write(self, kind: str, how: str) -> None:
        self.faults.armed[kind] = how
        self.sync("sync_check")

    @rule(minutes=st.sampled_from([1, 5, 61]))
    def wait(self, minutes: int) -> None:
        self.clock.now += timedelta(minutes=minutes)

    def _handle(self, action: str, direction: str = "both") -> Any:
        before_snapshot = self._run(self.db.get_snapshot(self.pid))
        equal_before = {k for k, (e, a) in self._presence().items() if e == a}
        self.faults.fired.clear()
        counts_before = self._live_counts()
        outcome = None
        trigger = "cli" if direction != "both" else f"vmh.beteiligte.{action}"
        try:
            outcome = self._run(
                self.service.handle(self.pid, action, trigger=trigger, trace_id="t", direction=direction)  # type: ignore[arg-type]
            )
        except Crash:
            pass  # the process died; the engine delivers the job again later
        except Exception:
            pass  # even the failure booking failed: the engine retries the job
        self._check_no_duplicate_added(counts_before)
        unknown = any(f in ("after", "crash") for f in self.faults.fired)
        if unknown:
            self.unknown_runs.append(self.step_no)
        if direction == "to_advoware":  # the operator chose to revert Advoware's edits
            for key in list(self.edits):  # (a second entry of a value is left alone, §2)
                if key in equal_before:
                    continue  # nothing to revert: the edit reached EspoCRM (a to_espocrm run)
                kept = self._second_entry_holds(key)
                self.edits[key] = [e for e in self.edits[key] if e[1] == "espo" or (e[1] == "advo+" and kept)]
        stored = self._run(self.db.get_snapshot(self.pid)) != before_snapshot
        if direction == "to_espocrm":
            self._delivered_to_espocrm()
            return outcome  # EspoCRM's edits (and a conflict's notice) wait for a two-way run
        if (outcome is not None and outcome.status in SYNCED) or stored:
            self._checkpoint(only=equal_before if unknown else None)
        return outcome

    # -- invariants -----------------------------------------------------------------------------

    def _live_counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for e in self.entries():
            set_name = set_of(int(e["kommKz"]))
            if set_name is not None and e["tlf"].strip():
                counts[(set_name, norm(set_name, e["tlf"]))] += 1
        return counts

    def _check_no_duplicate_added(self, before: dict[tuple[str, str], int]) -> None:
        """A run never leaves a value in more Advoware entries of its set than before, unless
        it is the only one (users may have typed duplicates; the service adds none: a lost
        POST answer must not be POSTed twice, a moved value leaves its old entry a slot)."""
        for key, count in self._live_counts().items():
            assert count <= max(1, before.get(key, 0)), f"{key}: {before.get(key, 0)} → {count} entries"

    @invariant()
    def one_advoware_address_per_espocrm_address(self) -> None:
        if not self.betnr:
            return
        markers = [str(a.get("bemerkung") or "") for a in self.advo.parties[self.betnr].get("adressen", [])]
        ids = [m.split("EspoCRM-ID: ")[1].split()[0] for m in markers if "EspoCRM-ID: " in m]
        assert len(ids) == len(set(ids)), f"two Advoware addresses for one EspoCRM address: {ids}"

    @invariant()
    def espocrm_sets_have_no_duplicates(self) -> None:
        if self.pid:
            for s in SETS:
                values = [norm(s, i[KEYS[s]]) for i in self.espo_items(s)]
                assert len(values) == len(set(values)), values

    def _checkpoint(self, only: set[tuple[str, str]] | None = None) -> None:
        """A sync ran through: where both sides now agree on a value, the right edit must have
        won; from here on only later edits count."""
        seen = self._state_keys()
        for key, (espo, advo) in self._presence().items():
            if espo != (key in seen):
                continue  # both sides agree by chance: the service has not seen it (its state says otherwise)
            if espo == advo and (only is None or key in only):
                self._check_value(key, espo)
                self.edits[key] = []

    def _state_keys(self) -> set[tuple[str | None, str]]:
        """The values the service's state holds."""
        rows = (self._run(self.db.get_snapshot(self.pid)) or {}).get("komm") or []
        return {(set_of(int(r["kind"])), norm(str(set_of(int(r["kind"]))), r["value"])) for r in rows}

    def _delivered_to_espocrm(self) -> None:
        """After a to_espocrm run: a value both sides now hold as Advoware's latest edit left
        it — the latest of all edits of it — has reached EspoCRM, and so has a second entry of a
        value EspoCRM removed (new in Advoware once alone): its history ends here (a later
        to_advoware run does not revert it). Any other history waits for a two-way run (a
        conflict EspoCRM wins is written, and noticed, only then)."""
        seen = self._state_keys()
        for key, (espo, advo) in self._presence().items():
            history = self.edits.get(key) or []
            second = self._second_entry_holds(key)
            theirs = [e for e in history if e[1] == "advo" or (e[1] == "advo+" and second)]
            if espo != advo or espo != (key in seen):
                continue
            mine = [e for e in history if e[1] == "espo"]
            if mine and not mine[-1][2] and espo and second:  # the second entry flowed back
                self.edits[key] = []
            elif theirs and theirs[-1] == max(history) and espo == theirs[-1][2]:
                self._check_value(key, espo)
                self.edits[key] = []

    def _check_value(self, key: tuple[str, str], present: bool) -> None:
        history = self.edits.get(key) or []
        mine = [e for e in history if e[1] == "espo"]
        second = self._second_entry_holds(key)  # a second entry gone again: its add is void
        theirs = [e for e in history if e[1] == "advo" or (e[1] == "advo+" and second)]
        if not mine and not theirs:
            return
        if present and mine and not mine[-1][2] and second:
            return  # EspoCRM removed the synced entry; a second one stays and flows back
        if not theirs:
            assert present == mine[-1][2], f"{key}: the EspoCRM edit {mine[-1]} is lost"
        elif not mine:
            if present != theirs[-1][2]:
                self._noticed(key, theirs[-1][0], f"{key}: the Advoware edit {theirs[-1]} is lost")
        elif mine[-1][2] != theirs[-1][2]:
            # Both sides, each last saying otherwise: the later edit may win (it may be a new
            # Advoware entry, not the same one: both kept), or EspoCRM's (the same entry: a
            # conflict); whichever edit did not win is named by a conflict notice.
            latest = max(mine[-1], theirs[-1])
            if (_undone(theirs, mine[-1][0]) and present == mine[-1][2]) or (
                _undone(mine, theirs[-1][0]) and present == theirs[-1][2]
            ):
                return  # one side's edits cancelled out before a sync saw them: the other's won
            if present != latest[2]:
                self._noticed(key, latest[0], f"{key}: both edited, the later edit {latest} lost")
        else:
            assert present == mine[-1][2], f"{key}: the same edit on both sides is lost"

    def _noticed(self, key: tuple[str, str], since: int, message: str) -> None:
        """An edit that did not win must be explained by a conflict notice sent after it."""
        sent = [n for n in self.espo.notices if n.get("kind") == "conflict" and n["step"] >= since]
        # a notice whose resolving write failed without a clear answer is held until a later
        # run knows (DECISIONS 22): it goes out then — the end checks nothing stays held
        held = (self._run(self.db.get_snapshot(self.pid)) or {}).get("heldNotices") or []
        assert sent or any(n["kind"] == "conflict" for n in held), message

    # -- the end --------------------------------------------------------------------------------

    def teardown(self) -> None:
        log_steps("KOMM_MACHINE_STEP_LOG", self.step_no)
        try:
            if self.pid:
                self._converge_and_check()
        finally:
            self.close_world()

    def _converge_and_check(self) -> None:
        self.faults.armed.clear()
        self.clock.now += timedelta(hours=5)  # dead holders' locks and every retry delay pass
        for _ in range(2):
            self._tick()
            self._handle("sync_check")
        writes = self.espo.writes + self.advo.writes
        self._tick()
        self._handle("sync_check")
        assert self.espo.writes + self.advo.writes == writes, "a third sync wrote"
        record = self.espo.records[self.pid]
        assert record["syncStatus"] == "clean", (record["syncStatus"], record.get("syncErrorMessage"))
        held = (self._run(self.db.get_snapshot(self.pid)) or {}).get("heldNotices")
        assert not held, f"notices still held after the faults stopped: {held}"
        for s in SETS:
            assert self.espo_values(s) == self.advo_values(s), (s, self.espo_values(s), self.advo_values(s))
            self._check_primary(s)
        for key in list(self.edits):
            espo, advo = self._presence()[key]
            self._check_value(key, espo)
        bad = [e for e in self.entries() if set_of(int(e["kommKz"])) == "email" and e["tlf"].strip()
               and not EMAIL_RE.match(e["tlf"].strip())]  # fmt: skip
        manual = [n["message"] for n in self.espo.notices if n.get("kind") == "manual_action"]
        for value in {e["tlf"].strip().lower() for e in bad}:  # of duplicates, one is named
            holders = [e for e in bad if e["tlf"].strip().lower() == value]
            assert any(str(e["id"]) in m for e in holders for m in manual), (value, holders, manual)
        self._check_addresses()

    def _check_primary(self, set_name: str) -> None:
        # value → its entry that syncs: of duplicates, the one the service's state knows, else
        # the lowest id (§2); not an e-mail EspoCRM refuses: it never syncs
        synced: dict[str, dict[str, Any]] = {}
        values = self.advo_values(set_name)
        known = {int(r["id"]) for r in (self._run(self.db.get_snapshot(self.pid)) or {}).get("komm") or []}
        for e in sorted(self.entries(), key=lambda e: (int(e["id"]) not in known, e["id"])):
            if (
                e["tlf"].strip()
                and set_of(int(e["kommKz"])) == set_name
                and norm(set_name, e["tlf"]) in values
            ):
                synced.setdefault(norm(set_name, e["tlf"]), e)
        online = {v for v, e in synced.items() if e["online"]}
        primary = {norm(set_name, i[KEYS[set_name]]) for i in self.espo_items(set_name) if i["primary"]}
        if len(online) == 1 and primary:
            assert online == primary, (set_name, online, primary)

    def _check_addresses(self) -> None:
        snapshot = self._run(self.db.get_snapshot(self.pid)) or {}
        rows = {r["espoId"]: r for r in snapshot.get("addresses") or []}
        advo = {a["id"]: a for a in self.advo.parties[self.betnr].get("adressen", [])}
        espo = {a["id"]: a for a in self._espo_addresses()}
        for espo_id, record in espo.items():
            row = rows.get(espo_id)
            assert row is not None and not row["tombstone"], f"EspoCRM address {espo_id} not synced"
            theirs = advo.get(row["advoId"])
            assert theirs is not None, f"EspoCRM address {espo_id} has no Advoware address"
            for f in WRITABLE:
                assert (record.get(f) or None) == (theirs.get(f) or None), (
                    espo_id,
                    f,
                    record.get(f),
                    theirs.get(f),
                )
            for f in READ_ONLY:
                if (record.get(f) or None) != (theirs.get(f) or None):
                    assert record.get("syncStatus") == "manual_action", (espo_id, f, "silently different")
        linked = {r["advoId"] for r in rows.values()}
        for advo_id in advo:
            assert advo_id in linked, f"Advoware address {advo_id} never reached EspoCRM"
        for row in rows.values():
            if row["tombstone"]:
                assert row["espoId"] in self.espo_deleted and row["advoId"] in advo


def _undone(edits: list[tuple[int, str, bool]], since: int = 0) -> bool:
    """A side's edits of one value that end where they started (added then removed, or the
    reverse) — all of them, or those after step `since` (the other side's last edit, made when
    this side held the value as it does now): no net edit. A second entry of a value (`advo+`)
    is an entry of its own."""
    if edits[0][1] == "advo+" or any(e[1] == "advo+" for e in edits if e[0] > since):
        return False
    earlier = [e for e in edits if e[0] < since]
    held_then = earlier[-1][2] if earlier else not edits[0][2]
    return edits[-1][2] != edits[0][2] or (since > 0 and edits[-1][2] == held_then)


KommunikationMachine.TestCase.settings = profile_settings(ci=(60, 40), long=(400, 60))
TestKommunikationMachine = KommunikationMachine.TestCase
