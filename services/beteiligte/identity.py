"""Is an Advoware party the one an EspoCRM record describes? (SYNC_RULES §1 Create, DECISIONS 24)

Used before every create (adoption of a party that already exists, a record deleted and made
again in EspoCRM, go-live) and to recover a POST whose answer was lost. Advoware's search by
name (+ first name) is a candidate list; each candidate of the same kind is classified against
the EspoCRM values (strings trimmed and case-folded, dates by date part):

- `match`: name and first name equal, every discriminating field equal or empty on both sides;
- `no_match`: a discriminating field filled on both sides and different (or another name);
- `partial`: a discriminating field filled on one side only.

Discriminating fields: a person's `geburtsdatum`; a company's `rechtsform` and
`handelsregisterNummer`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from services.beteiligte.mapping import Kind, Party, advo_kind, advo_to_party

Verdict = Literal["match", "no_match", "partial"]
DISCRIMINATING: Mapping[Kind, tuple[str, ...]] = {
    "person": ("geburtsdatum",),
    "company": ("rechtsform", "handelsregisterNummer"),
}


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def classify(wanted: Party, kind: Kind, candidate: Mapping[str, Any]) -> Verdict | None:
    """The verdict for one search result; None when it is surely of the other kind.

    A candidate with a first name is a person; one without may be a company or a person without
    first name (Advoware cannot tell, and the party this service POSTed for such a person looks
    exactly like that), so names and discriminating fields decide."""
    if kind == "company" and advo_kind(candidate) == "person":
        return None
    found = advo_to_party(candidate, kind)
    if any(_norm(wanted.get(f)) != _norm(found.get(f)) for f in ("name", "vorname")):
        return "no_match"
    verdict: Verdict = "match"
    for f in DISCRIMINATING[kind]:
        mine, theirs = _norm(wanted.get(f)), _norm(found.get(f))
        if mine is not None and theirs is not None and mine != theirs:
            return "no_match"
        if (mine is None) != (theirs is None):
            verdict = "partial"
    return verdict


def sort_candidates(
    wanted: Party, kind: Kind, candidates: list[Mapping[str, Any]]
) -> tuple[list[int], list[int]]:
    """(betNrs of matches, betNrs of partial matches), each ascending."""
    matches, partials = [], []
    for c in candidates:
        if c.get("betNr") is None:
            continue
        verdict = classify(wanted, kind, c)
        if verdict == "match":
            matches.append(int(c["betNr"]))
        elif verdict == "partial":
            partials.append(int(c["betNr"]))
    return sorted(set(matches)), sorted(set(partials))
