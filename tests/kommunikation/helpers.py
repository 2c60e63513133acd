"""A party with e-mails, phones and addresses on both simulators, and what each side holds.

`Party` wraps the test `Env`: EspoCRM edits go through the API as a human user (webhooks and the
dirty hook fire), Advoware edits happen in the simulator's state like a desktop user's (the API
cannot delete, and desktop edits leave the party's rowId alone), reads come from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.beteiligte.kommunikation.marker import parse
from simulators.advoware.records import Address, KommEntry
from tests.beteiligte_service.conftest import ENTITY, Env

WRITES = ("advoware_write", "espocrm_write")


def email(value: str, primary: bool = False, **flags: bool) -> dict[str, Any]:
    return {"emailAddress": value, "primary": primary, "optOut": False, "invalid": False, **flags}


def phone(value: str, type_: str = "Office", primary: bool = False, **flags: bool) -> dict[str, Any]:
    return {
        "phoneNumber": value,
        "type": type_,
        "primary": primary,
        "optOut": False,
        "invalid": False,
        **flags,
    }


@dataclass
class Party:
    env: Env
    pid: str
    betnr: int

    # -- set up -------------------------------------------------------------------------------
    @classmethod
    async def synced(cls, env: Env, emails: list[Any] = (), phones: list[Any] = (), **fields: Any) -> Party:  # type: ignore[assignment]
        """A person created by the service with these sets (entries POSTed), counters reset."""
        pid = await env.new_person(emailAddressData=list(emails), phoneNumberData=list(phones), **fields)
        outcome = await env.handle(pid, "create")
        assert outcome.status == "created", outcome
        party = cls(env, pid, int((await env.record(pid))["betnr"]))
        env.reset_counters()
        return party

    @classmethod
    async def unsynced(cls, env: Env, emails: list[Any] = (), phones: list[Any] = ()) -> Party:  # type: ignore[assignment]
        """The same person in both systems, linked, never synced (initial sync, or a lost
        database): Advoware holds no entries yet (add them with `add_entry`)."""
        betnr = await env.advo_post({"name": "Mustermann", "vorname": "Max", "anrede": "Herr",
                                     "rechtsform": "Privatperson", "geburtsdatum": "1980-05-17T00:00:00"})  # fmt: skip
        data = {"firstName": "Max", "lastName": "Mustermann", "anrede": "Herr", "rechtsform": "Privatperson",
                "dateOfBirth": "1980-05-17", "assignedUserId": "user-anna", "betnr": betnr,
                "emailAddressData": list(emails), "phoneNumberData": list(phones)}  # fmt: skip
        pid = str((await env.espo_sim.create(ENTITY, data))["id"])
        env.reset_counters()
        return cls(env, pid, betnr)

    # -- Advoware (desktop) -------------------------------------------------------------------
    @property
    def _advo(self) -> Any:
        return self.env.advo_sim.state.parties[self.betnr]

    def entries(self) -> list[KommEntry]:
        return list(self._advo.kommunikation)

    def entry(self, entry_id: int) -> KommEntry:
        return next(e for e in self.entries() if e.id == entry_id)

    def entry_of(self, value: str) -> KommEntry:
        return next(e for e in self.entries() if e.tlf.strip().lower() == value.lower())

    def add_entry(self, tlf: str, kind: int, note: str = "", online: bool = False, zero: bool = False) -> int:
        """A desktop user's new entry; `zero`: GET reports kommKz 0 for it."""
        state = self.env.advo_sim.state
        entry = KommEntry(state.next_id("komm_id"), state.short_row_id(), tlf, note, kind, online, zero)
        self._advo.kommunikation.append(entry)
        return entry.id

    def edit_entry(self, entry_id: int, **values: Any) -> None:
        entry = self.entry(entry_id)
        for k, v in values.items():
            setattr(entry, k, v)
        entry.rowId = self.env.advo_sim.state.short_row_id()

    def remove_entry(self, entry_id: int) -> None:
        self._advo.kommunikation[:] = [e for e in self.entries() if e.id != entry_id]

    def live(self) -> dict[str, KommEntry]:
        """Advoware's entries with a value, by value (lower-cased)."""
        return {e.tlf.strip().lower(): e for e in self.entries() if e.tlf.strip()}

    def slots(self) -> list[KommEntry]:
        return [e for e in self.entries() if not e.tlf.strip()]

    def addresses(self) -> list[Address]:
        return list(self._advo.adressen)

    def user_text(self, entry_id: int) -> str:
        return parse(self.entry(entry_id).bemerkung).user_text

    # -- EspoCRM (a user) ---------------------------------------------------------------------
    async def record(self) -> dict[str, Any]:
        return await self.env.record(self.pid)

    async def set_sets(self, emails: list[Any] | None = None, phones: list[Any] | None = None) -> None:
        data: dict[str, Any] = {}
        if emails is not None:
            data["emailAddressData"] = emails
        if phones is not None:
            data["phoneNumberData"] = phones
        await self.env.espo_sim.update_as_user(ENTITY, self.pid, data)

    async def emails(self) -> list[dict[str, Any]]:
        return list((await self.record()).get("emailAddressData") or [])

    async def phones(self) -> list[dict[str, Any]]:
        return list((await self.record()).get("phoneNumberData") or [])

    async def espo_values(self) -> set[str]:
        rec = await self.record()
        return {i["emailAddress"].lower() for i in rec.get("emailAddressData") or []} | {
            i["phoneNumber"] for i in rec.get("phoneNumberData") or []
        }

    # -- the service --------------------------------------------------------------------------
    async def sync(self, **kw: Any) -> Any:
        self.env.reset_counters()
        kw.setdefault("trigger", "cli")  # an operator run: no backoff, one-way runs allowed
        return await self.env.handle(self.pid, "sync_check", **kw)

    def writes(self) -> int:
        used = self.env.data_calls()
        return sum(used[k] for k in WRITES)

    def advo_writes(self) -> dict[tuple[str, str], int]:
        return {k: n for k, n in self.env.advo_calls().items() if k[0] != "GET"}

    async def state_rows(self) -> list[dict[str, Any]]:
        snapshot = await self.env.db.get_snapshot(self.pid)
        return list((snapshot or {}).get("komm") or [])

    async def state_values(self) -> set[str]:
        return {r["value"].lower() for r in await self.state_rows()}

    async def notices(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = await self.env.notifications("user-anna")
        return [n for n in found if kind is None or (n.get("data") or {}).get("kind") == kind]

    async def settled(self) -> None:
        """A second run writes nothing on either side."""
        outcome = await self.sync()
        assert self.writes() == 0, (outcome.status, self.env.advo_calls(), self.env.espo_calls())
