"""Who may do what with a calendar: its owner, and whoever an ACL rule shares it with.

Roles rank `none < freeBusyReader < reader < writer < owner`; a principal's role is the highest
of the owner rule and the matching `user:`, `domain:` and `default` rules. A calendar the
principal cannot see answers 404 (as Google does, revealing nothing); one it sees with too
weak a role answers 403 `requiredAccessLevel`.
"""

from __future__ import annotations

from simulators.google.errors import GoogleError, not_found
from simulators.google.state import Calendar

ROLES = ("none", "freeBusyReader", "reader", "writer", "owner")
SCOPE_TYPES = ("default", "user", "group", "domain")


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else 0


def role_of(calendar: Calendar, principal: str) -> str:
    if principal == calendar.owner:
        return "owner"
    domain = principal.rpartition("@")[2]
    matching = [
        rule.role
        for rule in calendar.acl.values()
        if (rule.scope_type == "user" and rule.scope_value == principal)
        or (rule.scope_type == "domain" and rule.scope_value == domain)
        or rule.scope_type == "default"
    ]
    return max(matching, key=rank, default="none")


def can_see(calendar: Calendar, principal: str) -> bool:
    return rank(role_of(calendar, principal)) >= rank("freeBusyReader")


def require(calendar: Calendar, principal: str, need: str) -> None:
    role = role_of(calendar, principal)
    if rank(role) < rank("freeBusyReader"):
        raise not_found()
    if rank(role) < rank(need):
        raise GoogleError(403, f"You need to have {need} access to this calendar.", "requiredAccessLevel")
