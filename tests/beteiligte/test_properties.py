"""Property tests in the vdirsyncer style: random sides + random (or no) snapshot → plan → apply.

After applying a plan to both in-memory systems the sync-relevant fields are equal, and a second
`plan_sync` on the result writes nothing. A one-way run followed by a two-way run ends where a
two-way run alone ends (one-way runs lose nothing, seed BUG-4).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.beteiligte.mapping import FIELDS, Party, advo_to_party, espo_kind, espo_to_party
from services.beteiligte.plan import plan_sync
from tests.beteiligte.sim import MemoryAdvoware, Store, apply_plan, fixed_now

TEXT = st.one_of(st.none(), st.sampled_from(["", "  ", "Max", " Max ", "Anna", "Dr.", "GmbH", "Müller"]))
NAMES = st.one_of(st.none(), st.sampled_from(["", "Mustermann", "Schmidt", "ACME GmbH"]))
DATES = st.one_of(st.none(), st.dates(min_value=date(1940, 1, 1), max_value=date(2010, 12, 31)))
ROW_IDS = st.sampled_from(["r1", "r2", None])


def _espo_date(d: date | None) -> str | None:
    return d.isoformat() if d else None


@st.composite
def espo_records(draw: st.DrawFn, linked: bool | None = None) -> dict[str, Any]:
    is_linked = draw(st.booleans()) if linked is None else linked
    return {
        "id": "espo1",
        "betnr": 7 if is_linked else None,
        "firmenname": draw(st.one_of(st.none(), st.sampled_from(["", " ", "ACME GmbH", "Beta AG"]))),
        "firstName": draw(TEXT),
        "lastName": draw(NAMES),
        "anrede": draw(TEXT),
        "titel": draw(TEXT),
        "rechtsform": draw(TEXT),
        "dateOfBirth": _espo_date(draw(DATES)),
        "handelsregisterNummer": draw(TEXT),
        "registergericht": draw(TEXT),
        "syncStatus": draw(st.sampled_from(["pending_sync", "dirty", "clean", "failed"])),
        "syncRetryCount": draw(st.sampled_from([0, 2])),
        "assignedUserId": draw(st.sampled_from([None, "u1"])),
    }


@st.composite
def advo_records(draw: st.DrawFn) -> dict[str, Any]:
    d = draw(DATES)
    suffix = draw(st.sampled_from(["T00:00:00", "T00:00:00+02:00", ""]))
    return {
        "betNr": 7,
        "rowId": draw(st.sampled_from(["r1", "r2"])),
        "name": draw(NAMES),
        "vorname": draw(TEXT),
        "anrede": draw(TEXT),
        "titel": draw(TEXT),
        "rechtsform": draw(TEXT),
        "geburtsdatum": f"{d.isoformat()}{suffix}" if d else draw(st.sampled_from([None, ""])),
        "handelsRegisterNummer": draw(TEXT),
        "registergericht": draw(TEXT),
        "geaendertAm": "2026-02-07T12:00:00",
        "kommunikation": [{"id": 1, "tlf": "+49 30 1"}],
    }


@st.composite
def snapshots(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    party = Party(**{f: draw(DATES if f == "geburtsdatum" else TEXT) for f in FIELDS})
    return {
        "party": Party.from_json(party.to_json()).to_json(),
        "kind": draw(st.sampled_from(["person", "company"])),
        "rowId": draw(ROW_IDS),
        "kommunikation": {"kept": True},  # other parts of the snapshot must survive
    }


def _sync(espo: dict[str, Any], advo: MemoryAdvoware, store: Store, **kw: Any):
    betnr = espo.get("betnr")
    advo_record = advo.get(betnr) if betnr else None
    plan = plan_sync(espo, advo_record, store.snapshots.get("espo1"), now=fixed_now(), **kw)
    return apply_plan(plan, espo, advo, store)


def _sides(espo: dict[str, Any], advo: MemoryAdvoware) -> tuple[Party, Party]:
    kind = espo_kind(espo)
    return espo_to_party(espo), advo_to_party(advo.records[espo["betnr"]], kind)


def _setup(espo: dict, advo_record: dict, snapshot: dict | None) -> tuple[dict, MemoryAdvoware, Store]:
    advo = MemoryAdvoware(records={7: copy.deepcopy(advo_record)})
    store = Store(snapshots={"espo1": snapshot} if snapshot else {})
    return copy.deepcopy(espo), advo, store


@given(espo_records(), advo_records(), snapshots(), st.sampled_from(["espocrm_wins", "advoware_wins"]))
def test_two_way_sync_converges_and_is_idempotent(espo, advo_record, snapshot, policy) -> None:
    espo, advo, store = _setup(espo, advo_record, snapshot)
    _sync(espo, advo, store, policy=policy)
    espo_side, advo_side = _sides(espo, advo)
    assert espo_side == advo_side
    if advo_record["betNr"] in advo.records and espo["betnr"] == 7:
        assert advo.records[7]["kommunikation"]  # the PUT never touched nested lists
    assert store.snapshots["espo1"]["party"] == espo_side.to_json()
    if snapshot and espo["betnr"] == 7:
        assert store.snapshots["espo1"]["kommunikation"] == {"kept": True}

    writes_before, calls_before = store.espo_writes, len(advo.calls)
    again = _sync(espo, advo, store, policy=policy, trigger="cron")
    assert again.is_noop, again
    assert again.new_snapshot is None
    assert store.espo_writes == writes_before
    assert [c for c in advo.calls[calls_before:] if c != "GET"] == []


@given(espo_records(linked=True), advo_records(), snapshots(), st.sampled_from(["to_advoware", "to_espocrm"]))
def test_one_way_then_two_way_ends_like_two_way(espo, advo_record, snapshot, direction) -> None:
    e1, a1, s1 = _setup(espo, advo_record, snapshot)
    _sync(e1, a1, s1)
    e2, a2, s2 = _setup(espo, advo_record, snapshot)
    _sync(e2, a2, s2, direction=direction)
    _sync(e2, a2, s2)
    assert _sides(e2, a2) == _sides(e1, a1)


@st.composite
def realistic(draw: st.DrawFn) -> tuple[dict, dict, dict, set[str], set[str]]:
    """A linked person synced before, then edited on either side (disjoint fields)."""
    base = Party(
        name="Mustermann",
        vorname="Max",
        anrede="Herr",
        rechtsform="Privatperson",
        geburtsdatum=date(1980, 3, 30),
    )
    fields = list(FIELDS[2:])  # name/vorname stay put: kind changes are tested in the tables
    espo_edits = set(draw(st.lists(st.sampled_from(fields), unique=True, max_size=3)))
    advo_edits = set(draw(st.lists(st.sampled_from([f for f in fields if f not in espo_edits]), max_size=3)))
    espo = {
        "id": "espo1",
        "betnr": 7,
        "firmenname": None,
        "firstName": "Max",
        "lastName": "Mustermann",
        "anrede": "Herr",
        "rechtsform": "Privatperson",
        "dateOfBirth": "1980-03-30",
        "syncStatus": "dirty",
    }
    advo = {
        "betNr": 7,
        "rowId": "r1",
        "name": "Mustermann",
        "vorname": "Max",
        "anrede": "Herr",
        "rechtsform": "Privatperson",
        "geburtsdatum": "1980-03-30T00:00:00",
    }
    for f in espo_edits:
        key = {"geburtsdatum": "dateOfBirth"}.get(f, f)
        espo[key] = "1981-10-25" if f == "geburtsdatum" else draw(st.sampled_from(["", "E-neu"]))
    for f in advo_edits:
        key = {"handelsregisterNummer": "handelsRegisterNummer"}.get(f, f)
        advo[key] = "1979-10-28T00:00:00" if f == "geburtsdatum" else draw(st.sampled_from(["", "A-neu"]))
    if advo_edits:
        advo["rowId"] = "r2"
    snap = {"party": base.to_json(), "kind": "person", "rowId": "r1"}
    return espo, advo, snap, espo_edits, advo_edits


@given(realistic(), st.sampled_from(["both", "to_advoware", "to_espocrm"]))
def test_no_edit_is_lost_whatever_the_direction(case, direction) -> None:
    espo, advo_record, snap, espo_edits, advo_edits = case
    e, a, s = _setup(espo, advo_record, snap)
    expected_espo = espo_to_party(e)
    expected_advo = advo_to_party(a.records[7], "person")
    _sync(e, a, s, direction=direction)
    _sync(e, a, s)
    espo_side, advo_side = _sides(e, a)
    assert espo_side == advo_side
    for f in espo_edits:
        assert espo_side.get(f) == expected_espo.get(f), f
    for f in advo_edits:
        assert espo_side.get(f) == expected_advo.get(f), f
    assert [n for n in s.notifications if n.kind == "conflict"] == []


def test_dates_near_dst_do_not_shift() -> None:
    # The days of the 2026 DST changes in Berlin, with and without a zone suffix.
    for raw in ("2026-03-29T00:00:00", "2026-03-29T00:00:00+02:00", "2026-10-25T00:00:00+01:00"):
        assert advo_to_party({"geburtsdatum": raw}).geburtsdatum == date.fromisoformat(raw[:10])
    assert date(2026, 3, 29) + timedelta(days=0) == espo_to_party({"dateOfBirth": "2026-03-29"}).geburtsdatum
