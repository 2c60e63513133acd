"""Which employees get a calendar, and in which Google account (SYNC_RULES §5, §8).

Employees are the Mitarbeiter Advoware lists as `aktiv`, limited to `CALENDAR_SYNC_KUERZEL`
when set (one who leaves that set keeps his calendar untouched). `GOOGLE_DELEGATION=owner`: the
calendar lives in `GOOGLE_CALENDAR_OWNER`'s account (the subject of the delegated token) and is
shared with the employee's address; `employee`: it lives in the employee's own account (subject
= his address), as a secondary calendar. Either way an employee without an e-mail address gets
no calendar (`calendar_account` answers None; the sync sends one admin notice).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Delegation = Literal["owner", "employee"]


@dataclass(frozen=True)
class Employee:
    kuerzel: str
    email: str | None
    aktiv: bool


@dataclass(frozen=True)
class CalendarAccount:
    subject: str  # whose account the calendar lives in (the delegated token's `sub`)
    share_with: str | None  # owner mode: the employee's address, shared as writer


def employee_from_mitarbeiter(record: Mapping[str, Any]) -> Employee | None:
    kuerzel = record.get("kuerzel")
    if not isinstance(kuerzel, str) or not kuerzel.strip():
        return None
    email = record.get("email")
    address = email.strip().lower() if isinstance(email, str) and "@" in email else None
    return Employee(kuerzel.strip().upper(), address, record.get("aktiv") is True)


def employees_to_sync(records: Iterable[Mapping[str, Any]], only: Collection[str] = ()) -> list[Employee]:
    """Active employees (in `only`, when given), in Kürzel order, each once."""
    wanted = {k.upper() for k in only}
    found: dict[str, Employee] = {}
    for record in records:
        employee = employee_from_mitarbeiter(record)
        if employee and employee.aktiv and (not wanted or employee.kuerzel in wanted):
            found.setdefault(employee.kuerzel, employee)
    return [found[k] for k in sorted(found)]


def calendar_account(employee: Employee, delegation: Delegation, owner: str) -> CalendarAccount | None:
    if employee.email is None:
        return None
    if delegation == "owner":
        if not owner:
            raise ValueError("owner mode needs GOOGLE_CALENDAR_OWNER")
        return CalendarAccount(owner.lower(), employee.email)
    return CalendarAccount(employee.email, None)
