"""Table tests of the party decisions, one block per variant (SYNC_RULES §1), each run through
the core's real runner with an in-memory executor (`harness.py`)."""

from __future__ import annotations

import pytest

from services.beteiligte.mapping import FIELDS
from services.sync.actions import Call, Patch
from services.sync.policy import BOOKKEEPING_ATTRS
from tests.beteiligte.factories import (
    BASE,
    COMPANY,
    STALE,
    advo,
    company_advo,
    company_espo,
    espo,
    snap,
)
from tests.beteiligte.harness import NOT_FOUND, plan


def data_of(update) -> dict:
    return {k: v for k, v in (update or {}).items() if k not in BOOKKEEPING_ATTRS and k != "advowareRowId"}


# --- create ----------------------------------------------------------------------------------


def test_create_person_maps_all_filled_fields_and_writes_back_once() -> None:
    p = plan(espo(betnr=None, syncStatus="pending_sync", titel=" "), None, None)
    assert p.variant == "create"
    assert p.advoware_create == {
        "name": "Mustermann",
        "vorname": "Max",
        "anrede": "Herr",
        "rechtsform": "Privatperson",
        "geburtsdatum": "1980-01-05T00:00:00",
    }
    assert p.advoware_update is None
    assert p.espo_update["betnr"] == 555
    assert p.espo_update["advowareRowId"] == "NEWROW"
    assert p.espo_update["syncStatus"] == "clean"
    assert p.espo_update["advowareLastSync"] == "2026-03-29 12:00:00"
    assert p.new_snapshot["rowId"] == "NEWROW"
    assert p.new_snapshot["kind"] == "person"
    assert p.new_snapshot["party"]["titel"] is None


def test_create_company_sends_firmenname_and_empty_vorname() -> None:
    p = plan(company_espo(betnr=None, firstName="hidden", lastName="hidden"), None, None)
    assert p.advoware_create["name"] == "ACME GmbH"
    assert p.advoware_create["vorname"] == ""
    assert p.advoware_create["handelsRegisterNummer"] == "HRB 1"
    assert p.new_snapshot["kind"] == "company"


def test_create_is_skipped_by_a_to_espocrm_run() -> None:
    assert plan(espo(betnr=None), None, None, direction="to_espocrm").is_noop


def test_post_failure_leaves_no_snapshot_and_no_write() -> None:
    p = plan(espo(betnr=None), None, None, fail=("create_party",))
    assert p.applied.failure is not None and p.new_snapshot is None
    assert p.applied.written == {} and p.applied.kept == {}


def test_espocrm_write_failure_after_post_keeps_the_link_for_the_failure_booking() -> None:
    p = plan(espo(betnr=None), None, None, fail=("patch",))
    ref = ("CBeteiligte", espo()["id"])
    assert p.applied.kept[ref] == {"betnr": 555, "advowareRowId": "NEWROW"}
    assert p.new_snapshot["rowId"] == "NEWROW"  # the POST is applied: its state is stored


def test_advoware_one_element_list_is_unwrapped() -> None:
    assert plan(espo(), [advo()], snap(), trigger="webhook").is_noop


# --- initial sync (no snapshot) --------------------------------------------------------------

INITIAL_CASES = [
    # field, espo attr, espo value, advo attr, advo value, push, pull, conflict
    ("anrede", "anrede", "Herr", "anrede", None, {"anrede": "Herr"}, {}, False),
    ("anrede", "anrede", None, "anrede", "Frau", {}, {"anrede": "Frau"}, False),
    ("anrede", "anrede", "Herr", "anrede", " Herr ", {}, {}, False),
    ("anrede", "anrede", "Herr", "anrede", "Frau", {"anrede": "Herr"}, {}, True),
    ("titel", "titel", "", "titel", "Prof.", {}, {"titel": "Prof."}, False),
    (
        "geburtsdatum",
        "dateOfBirth",
        None,
        "geburtsdatum",
        "1970-02-03T00:00:00",
        {},
        {"dateOfBirth": "1970-02-03"},
        False,
    ),
    (
        "geburtsdatum",
        "dateOfBirth",
        "1970-02-03",
        "geburtsdatum",
        "",
        {"geburtsdatum": "1970-02-03T00:00:00"},
        {},
        False,
    ),
]


@pytest.mark.parametrize("policy", ["espocrm_wins", "advoware_wins"])
@pytest.mark.parametrize("case", INITIAL_CASES, ids=lambda c: f"{c[0]}:{c[2]!r}/{c[4]!r}")
def test_initial_sync_fills_empty_sides_and_espocrm_wins_differences(case, policy) -> None:
    field, e_attr, e_val, a_attr, a_val, push, pull, conflict = case
    p = plan(espo(**{e_attr: e_val}), advo(**{a_attr: a_val}), None, policy=policy)
    assert p.variant == "initial"
    body = p.advoware_update or {}
    assert {k: body[k] for k in push} == push
    assert set(p.to_advoware) == ({field} if push else set())
    assert data_of(p.espo_update) == pull
    assert [(c.field, c.winner) for c in p.conflicts] == ([(field, "espocrm")] if conflict else [])
    assert [n.kind for n in p.notifications] == (["conflict"] if conflict else [])


def test_initial_sync_of_equal_records_stores_the_snapshot_and_writes_bookkeeping_only_when_due() -> None:
    p = plan(espo(), advo(), None)
    assert p.espo_update is None and not p.writes_data
    assert p.new_snapshot["party"] == BASE.to_json() and p.new_snapshot["rowId"] == "ROW1"
    due = plan(espo(advowareLastSync=None), advo(), None)
    assert due.bookkeeping_only and set(due.espo_update) == {"syncStatus", "advowareLastSync"}


def test_initial_sync_whose_put_failed_stores_nothing_and_notifies_nothing() -> None:
    p = plan(espo(anrede="Herr"), advo(anrede="Frau", titel=""), None, fail=("update_party",))
    assert p.new_snapshot is None and p.notifications == ()
    assert [c.field for c in p.conflicts] == ["anrede"]


# --- update against the snapshot -------------------------------------------------------------


def test_advoware_only_change_is_one_espocrm_write_with_data_and_bookkeeping() -> None:
    p = plan(espo(syncStatus="clean"), advo(rowId="ROW2", anrede="Frau"), snap())
    assert p.variant == "update" and p.advo_changed == ("anrede",) and p.espo_changed == ()
    assert not p.writes_advoware
    assert p.espo_update == {
        "anrede": "Frau",
        "syncStatus": "clean",
        "advowareLastSync": "2026-03-29 12:00:00",
        "advowareRowId": "ROW2",
    }
    assert p.new_snapshot["rowId"] == "ROW2" and p.new_snapshot["party"]["anrede"] == "Frau"


def test_advoware_edit_is_invisible_while_row_id_is_unchanged() -> None:
    # rowId is the change marker: equal rowId ⇒ Advoware not edited; EspoCRM's value is kept.
    p = plan(
        espo(syncStatus="dirty", anrede="Herr"), advo(anrede="Frau"), snap(BASE.replace({"anrede": "Herr"}))
    )
    assert p.advo_changed == ()
    assert p.advoware_update["anrede"] == "Herr"


def test_espocrm_only_change_is_a_read_modify_write_put() -> None:
    current = advo(extraField="dropped", handelsRegisterNummer=None)
    p = plan(
        espo(syncStatus="dirty", rechtsform="e.K."),
        current,
        snap(),
        stored=lambda b: {**current, **b, "rowId": "ROW9"},
    )
    assert p.espo_changed == ("rechtsform",) and p.advo_changed == ()
    assert p.advoware_update == {
        "name": "Mustermann",
        "vorname": "Max",
        "anrede": "Herr",
        "titel": "Dr.",
        "rechtsform": "e.K.",
        "geburtsdatum": "1980-01-05T00:00:00",
        "handelsRegisterNummer": None,
        "registergericht": None,
    }
    assert data_of(p.espo_update) == {}
    assert p.espo_update["advowareRowId"] == "ROW9"
    assert p.espo_update["syncStatus"] == "clean"
    assert p.new_snapshot["rowId"] == "ROW9"
    assert p.new_snapshot["party"]["rechtsform"] == "e.K."


def test_the_put_is_the_first_action_and_the_espocrm_write_comes_once_after_it() -> None:
    p = plan(espo(syncStatus="dirty", titel="Prof."), advo(rowId="ROW2", anrede="Frau"), snap())
    kinds = [type(a).__name__ for a in p.decision.actions if isinstance(a, Call | Patch)]
    assert kinds == ["Call", "Patch"]
    assert [op for op, _ in p.applied.answers.items()] == ["advoware.put_party"]
    assert len(p.applied.written) == 1


def test_modified_at_is_never_a_change() -> None:
    p = plan(espo(modifiedAt="2099-01-01 00:00:00"), advo(), snap(), trigger="webhook")
    assert p.is_noop


def test_both_changed_different_fields_merge_both_ways() -> None:
    p = plan(espo(syncStatus="dirty", titel="Prof."), advo(rowId="ROW2", anrede="Frau"), snap())
    assert p.conflicts == ()
    assert p.advoware_update["titel"] == "Prof." and p.advoware_update["anrede"] == "Frau"
    assert data_of(p.espo_update) == {"anrede": "Frau"}
    assert p.to_advoware == ("titel",) and p.to_espocrm == ("anrede",)


@pytest.mark.parametrize(
    ("policy", "winner", "espo_gets", "advo_gets"),
    [("espocrm_wins", "espocrm", None, "Prof."), ("advoware_wins", "advoware", "PD Dr.", None)],
)
def test_same_field_changed_on_both_sides_is_a_conflict_by_policy(
    policy, winner, espo_gets, advo_gets
) -> None:
    p = plan(
        espo(syncStatus="dirty", titel="Prof."), advo(rowId="ROW2", titel="PD Dr."), snap(), policy=policy
    )
    assert [(c.field, c.espo_value, c.advo_value, c.winner) for c in p.conflicts] == [
        ("titel", "Prof.", "PD Dr.", winner)
    ]
    assert (p.advoware_update or {}).get("titel") == advo_gets
    assert data_of(p.espo_update).get("titel") == espo_gets
    (notice,) = p.notifications
    assert notice.kind == "conflict" and notice.recipient == "user-1" and "titel" in notice.message
    assert "Prof." not in notice.message and "PD Dr." not in notice.message  # no personal data


@pytest.mark.parametrize("failing", ["update_party", "patch"])
def test_a_failed_write_keeps_the_conflict_for_the_next_run(failing) -> None:
    """DECISIONS 22: the snapshot does not advance for the failed write; no notice is sent; the
    next run sees the same conflict and notifies when it resolves it."""
    policy = "espocrm_wins" if failing == "update_party" else "advoware_wins"
    e, a = espo(syncStatus="dirty", titel="Prof."), advo(rowId="ROW2", titel="PD Dr.")
    p = plan(e, a, snap(), policy=policy, fail=(failing,))
    assert p.notifications == ()
    assert p.new_snapshot["party"]["titel"] == "Dr." and p.new_snapshot["rowId"] == "ROW1"
    nxt = plan(e, a, p.new_snapshot, policy=policy)
    assert [c.field for c in nxt.conflicts] == ["titel"] and len(nxt.notifications) == 1


def test_conflict_notification_falls_back_to_admin() -> None:
    p = plan(
        espo(assignedUserId=None, titel="A"), advo(rowId="ROW2", titel="B"), snap() | {"assignedUserId": None}
    )
    assert p.notifications[0].recipient == "admin"


def test_same_edit_on_both_sides_is_no_conflict() -> None:
    p = plan(espo(syncStatus="dirty", titel="Prof."), advo(rowId="ROW2", titel="Prof."), snap())
    assert p.conflicts == () and not p.writes_data
    assert p.bookkeeping_only and p.new_snapshot["party"]["titel"] == "Prof."


def test_row_id_changed_but_values_equal_writes_no_data() -> None:
    p = plan(espo(), advo(rowId="ROW2"), snap(), trigger="cron")
    assert p.espo_update is None and not p.writes_data
    assert p.new_snapshot["rowId"] == "ROW2"


# --- cleared fields --------------------------------------------------------------------------


def test_field_cleared_in_espocrm_is_sent_as_empty_string() -> None:
    p = plan(espo(syncStatus="dirty", titel=None, dateOfBirth=""), advo(), snap())
    assert p.advoware_update["titel"] == "" and p.advoware_update["geburtsdatum"] == ""
    assert p.new_snapshot["party"]["titel"] is None


def test_field_cleared_in_advoware_is_null_in_espocrm_and_nothing_else_is_null() -> None:
    p = plan(espo(), advo(rowId="ROW2", titel="", geburtsdatum=None), snap())
    assert data_of(p.espo_update) == {"titel": None, "dateOfBirth": None}
    nulls = {k for k, v in p.espo_update.items() if v is None}
    assert nulls == {"titel", "dateOfBirth"}  # E9: no null for a field that did not change


def test_whitespace_and_none_are_no_change() -> None:
    p = plan(
        espo(titel="  Dr. ", handelsregisterNummer=""), advo(registergericht="  "), snap(), trigger="webhook"
    )
    assert p.is_noop


# --- one-way runs ----------------------------------------------------------------------------


def test_to_espocrm_run_keeps_the_espocrm_change_pending() -> None:
    p = plan(
        espo(syncStatus="dirty", titel="Prof."),
        advo(rowId="ROW2", anrede="Frau"),
        snap(),
        direction="to_espocrm",
    )
    assert not p.writes_advoware
    update = dict(p.espo_update)
    assert update.pop("advowareLastSync")  # the stamp: a next run tells whether this write landed
    assert update == {"anrede": "Frau", "advowareRowId": "ROW2"}  # status stays dirty
    assert p.new_snapshot["party"]["titel"] == "Dr."  # not advanced: pushed by the next run
    assert p.new_snapshot["party"]["anrede"] == "Frau"
    nxt = plan(
        espo(syncStatus="dirty", titel="Prof.", anrede="Frau"),
        advo(rowId="ROW2", anrede="Frau"),
        p.new_snapshot,
    )
    assert nxt.advoware_update["titel"] == "Prof." and nxt.conflicts == ()


def test_to_advoware_run_keeps_the_advoware_change_pending() -> None:
    p = plan(
        espo(syncStatus="dirty", titel="Prof."),
        advo(rowId="ROW2", anrede="Frau"),
        snap(),
        direction="to_advoware",
        stored=lambda b: {**advo(), **b, "rowId": "ROW3"},
    )
    assert p.advoware_update["titel"] == "Prof." and p.advoware_update["anrede"] == "Frau"  # not reverted
    assert data_of(p.espo_update) == {}
    assert "syncStatus" not in (p.espo_update or {})
    assert p.new_snapshot["rowId"] == "ROW1"  # old rowId: Advoware is compared field by field
    assert p.new_snapshot["party"]["anrede"] == "Herr"
    nxt = plan(
        espo(syncStatus="dirty", titel="Prof."),
        advo(rowId="ROW3", titel="Prof.", anrede="Frau"),
        p.new_snapshot,
    )
    assert data_of(nxt.espo_update) == {"anrede": "Frau"} and not nxt.writes_advoware


def test_conflict_not_applied_by_a_one_way_run_is_reported_by_the_next_run() -> None:
    e, a = espo(syncStatus="dirty", titel="Prof."), advo(rowId="ROW2", titel="PD Dr.")
    one_way = plan(e, a, snap(), direction="to_espocrm")
    assert one_way.conflicts == () and one_way.notifications == ()
    assert one_way.new_snapshot["party"]["titel"] == "Dr."
    nxt = plan(e, a, one_way.new_snapshot)
    assert [c.field for c in nxt.conflicts] == ["titel"]


# --- Advoware 404 ----------------------------------------------------------------------------


def test_not_found_marks_deleted_and_notifies_once() -> None:
    p = plan(espo(), NOT_FOUND, snap())
    assert p.variant == "not_found" and not p.writes_advoware
    assert p.espo_update["syncStatus"] == "deleted_in_advoware"
    assert p.espo_update["advowareDeletedAt"] == "2026-03-29 12:00:00"
    assert [n.kind for n in p.notifications] == ["deleted_in_advoware"]
    assert p.new_snapshot["party"] == snap()["party"]  # unchanged
    again = plan(espo(syncStatus="deleted_in_advoware"), NOT_FOUND, snap())
    assert again.variant == "gone" and again.is_noop


# --- bookkeeping-only outcomes ---------------------------------------------------------------

STAMP_CASES = [
    # status, advowareLastSync, trigger, expected write keys (None = no write)
    ("clean", "recent", "cron", None),
    ("clean", "recent", "webhook", None),
    ("clean", "stale", "cron", {"syncStatus", "advowareLastSync"}),
    ("clean", "stale", "manual", {"syncStatus", "advowareLastSync"}),
    ("clean", "stale", "webhook", None),
    ("clean", None, "cron", {"syncStatus", "advowareLastSync"}),
    ("dirty", "recent", "webhook", {"syncStatus", "advowareLastSync"}),
    ("pending_sync", "recent", "cron", {"syncStatus", "advowareLastSync"}),
]


@pytest.mark.parametrize(("status", "last", "trigger", "keys"), STAMP_CASES)
def test_unchanged_record_bookkeeping(status, last, trigger, keys) -> None:
    last_sync = {"recent": espo()["advowareLastSync"], "stale": STALE, None: None}[last]
    p = plan(espo(syncStatus=status, advowareLastSync=last_sync), advo(), snap(), trigger=trigger)
    assert not p.writes_data
    if keys is None:
        assert p.is_noop
    else:
        assert p.bookkeeping_only and set(p.espo_update) == keys and p.espo_update["syncStatus"] == "clean"


def test_failed_record_without_change_clears_retry_fields_in_one_write() -> None:
    record = espo(
        syncStatus="failed", syncRetryCount=2, syncErrorMessage="x", syncNextRetry="2026-03-29 11:00:00"
    )
    p = plan(record, advo(), snap(), trigger="cron")
    assert p.espo_update == {
        "syncStatus": "clean",
        "advowareLastSync": "2026-03-29 12:00:00",
        "syncRetryCount": 0,
        "syncErrorMessage": None,
        "syncNextRetry": None,
    }


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("advo_value", "espo_value"),
    [
        ("2026-03-29T00:00:00", "2026-03-29"),  # spring DST change in Berlin
        ("2026-10-25T00:00:00+01:00", "2026-10-25"),  # autumn DST change, zone suffix
        ("2026-03-29T00:00:00+02:00", "2026-03-29"),
        ("1980-12-31T23:00:00Z", "1980-12-31"),  # a UTC reading must not move the day
    ],
)
def test_dates_keep_their_day_both_ways(advo_value, espo_value) -> None:
    pulled = plan(
        espo(dateOfBirth=None),
        advo(rowId="ROW2", geburtsdatum=advo_value),
        snap(BASE.replace({"geburtsdatum": None})),
    )
    assert data_of(pulled.espo_update) == {"dateOfBirth": espo_value}
    pushed = plan(
        espo(dateOfBirth=espo_value), advo(geburtsdatum=None), snap(BASE.replace({"geburtsdatum": None}))
    )
    assert pushed.advoware_update["geburtsdatum"] == f"{espo_value}T00:00:00"


# --- person / company ------------------------------------------------------------------------


def test_person_becoming_a_company_in_espocrm() -> None:
    p = plan(espo(syncStatus="dirty", firmenname="Mustermann GmbH", rechtsform="GmbH"), advo(), snap())
    assert p.advoware_update["name"] == "Mustermann GmbH" and p.advoware_update["vorname"] == ""
    assert p.new_snapshot["kind"] == "company" and p.new_snapshot["party"]["vorname"] is None
    assert p.roundtrip_failed == ()


def test_company_becoming_a_person_in_espocrm() -> None:
    record = company_espo(syncStatus="dirty", firmenname="", firstName="Erika", lastName="Muster")
    p = plan(record, company_advo(), snap(COMPANY, kind="company"))
    assert p.advoware_update["name"] == "Muster" and p.advoware_update["vorname"] == "Erika"


def test_company_name_change_in_advoware_goes_to_firmenname() -> None:
    p = plan(company_espo(), company_advo(rowId="ROW2", name="ACME AG"), snap(COMPANY, kind="company"))
    assert data_of(p.espo_update) == {"firmenname": "ACME AG"}


def test_vorname_typed_into_a_company_in_advoware_is_cleared_with_a_conflict() -> None:
    p = plan(company_espo(), company_advo(rowId="ROW2", vorname="Hans"), snap(COMPANY, kind="company"))
    assert p.advoware_update["vorname"] == ""
    assert [(c.field, c.winner) for c in p.conflicts] == [("vorname", "espocrm")]
    assert "firstName" not in (p.espo_update or {})


def test_company_name_cleared_in_advoware_is_restored_not_turned_into_a_person() -> None:
    p = plan(company_espo(), company_advo(rowId="ROW2", name=""), snap(COMPANY, kind="company"))
    assert "firmenname" not in (p.espo_update or {})
    assert p.advoware_update["name"] == "ACME GmbH"


def test_person_without_vorname_in_advoware_stays_a_person() -> None:
    p = plan(espo(), advo(rowId="ROW2", vorname=""), snap())
    assert data_of(p.espo_update) == {"firstName": None}
    assert p.new_snapshot["kind"] == "person"


# --- round trip and partial failures ---------------------------------------------------------


def test_roundtrip_mismatch_fails_then_permanently_fails_on_the_same_mismatch() -> None:
    e = espo(syncStatus="dirty", rechtsform="e.K.")
    ignore = lambda b: {**advo(), **b, "rechtsform": "Privatperson", "rowId": "R2"}  # noqa: E731
    s1 = plan(e, advo(), snap(), stored=ignore)
    assert s1.roundtrip_failed and "rechtsform" in s1.roundtrip_failed[0]
    assert s1.espo_update["syncStatus"] == "failed" and "rechtsform" in s1.espo_update["syncErrorMessage"]
    assert s1.espo_update["advowareRowId"] == "R2"
    assert s1.new_snapshot["rowId"] == "R2"  # our own write is not mistaken for an Advoware change
    assert s1.new_snapshot["party"]["rechtsform"] == "Privatperson"  # what Advoware holds
    e.update(s1.espo_update)
    s2 = plan(e, advo(rowId="R2"), s1.new_snapshot, stored=lambda b: {**ignore(b), "rowId": "R3"})
    assert s2.advoware_update["rechtsform"] == "e.K."  # retried
    assert s2.espo_update["syncStatus"] == "permanently_failed"
    assert "syncAutoResetAt" not in s2.espo_update
    assert [n.kind for n in s2.notifications] == ["permanently_failed"]


def test_successful_write_clears_a_stored_mismatch() -> None:
    old = snap(roundtripMismatch={"fields": ["rechtsform"], "fingerprint": "x", "permanent": False})
    p = plan(espo(syncStatus="failed", rechtsform="e.K.", syncRetryCount=1), advo(), old)
    assert p.new_snapshot["roundtripMismatch"] is None and p.espo_update["syncStatus"] == "clean"


def test_espocrm_write_failure_after_put_keeps_the_advoware_change_detectable() -> None:
    p = plan(
        espo(syncStatus="dirty", titel="Prof."),
        advo(rowId="ROW2", anrede="Frau"),
        snap(),
        fail=("patch",),
        stored=lambda b: {**advo(), **b, "rowId": "ROW3"},
    )
    partial = p.new_snapshot
    assert partial["party"]["titel"] == "Prof." and partial["party"]["anrede"] == "Herr"
    assert partial["rowId"] == "ROW1"
    nxt = plan(
        espo(syncStatus="failed", titel="Prof."), advo(rowId="ROW3", titel="Prof.", anrede="Frau"), partial
    )
    assert data_of(nxt.espo_update) == {"anrede": "Frau"} and not nxt.writes_advoware


def test_every_field_is_covered_by_the_mapping() -> None:
    assert len(FIELDS) == 8


# --- writes in flight and notices held (a run that died or lost an answer) -------------------


def test_the_services_own_write_of_a_run_that_died_is_not_taken_for_an_edit() -> None:
    """The PUT landed (titel "Prof."), the process died before storing the snapshot, then the
    EspoCRM user set titel back to "Dr.": the undo is pushed, Advoware's value is not pulled."""
    died = snap(inflight={"push": {"titel": "Prof."}, "pull": {}})
    p = plan(espo(syncStatus="failed", titel="Dr."), advo(rowId="ROW2", titel="Prof."), died)
    assert p.advoware_update["titel"] == "Dr." and data_of(p.espo_update) == {} and p.conflicts == ()
    assert "inflight" not in p.new_snapshot
    landed_not = plan(espo(syncStatus="failed", titel="Prof."), advo(titel="Dr."), died)
    assert landed_not.advoware_update["titel"] == "Prof."  # it did not land: pushed again


def test_a_pull_in_flight_counts_exactly_when_the_record_holds_its_stamp() -> None:
    """The EspoCRM write pulling Advoware's titel "Prof." failed with a 5xx (it may have landed);
    its stamp tells. It had not landed, the EspoCRM user then typed "Prof." and the Advoware user
    set "Dr." back: EspoCRM's edit wins (it is no write of the service). It had landed, and the
    EspoCRM user then typed "PD": that edit is pushed without a conflict."""
    failed = "2026-03-29 11:30:00"
    flying = snap(inflight={"push": {}, "pull": {"titel": "Prof."}, "stamp": failed})
    retyped = plan(espo(syncStatus="failed", titel="Prof."), advo(rowId="ROW3"), flying)
    assert retyped.advoware_update["titel"] == "Prof." and data_of(retyped.espo_update) == {}
    assert retyped.conflicts == () and retyped.new_snapshot["party"]["titel"] == "Prof."
    landed = espo(syncStatus="failed", titel="PD", advowareLastSync=failed)
    edited = plan(landed, advo(rowId="ROW2", titel="Prof."), flying)
    assert edited.advoware_update["titel"] == "PD" and data_of(edited.espo_update) == {}
    assert edited.conflicts == ()


def test_a_conflict_whose_put_lost_its_answer_is_notified_once_when_known() -> None:
    from services.beteiligte.execute import HELD, held_notices
    from services.clients.errors import ApiError

    e, a = espo(syncStatus="dirty", titel="Prof."), advo(rowId="ROW2", titel="PD Dr.")
    first = plan(e, a, snap(), fail=("update_party",), error=ApiError("advoware", "PUT", "x", 503))
    released, held = held_notices(first.decision, first.applied)
    assert first.notifications == () and released == [] and [n.kind for n in held] == ["conflict"]
    stored = {**snap(), HELD: [n.__dict__ for n in held]}
    # the PUT had landed: the next run sees no conflict any more and releases the notice
    landed = plan(e, advo(rowId="ROW3", titel="Prof."), stored)
    assert [n.key for n in held_notices(landed.decision, landed.applied)[0]] == [held[0].key]
    # it had not: the next run meets the same conflict and notifies as usual, once
    again = plan(e, a, stored)
    released, still = held_notices(again.decision, again.applied)
    assert released == [] and still == [] and [n.key for n in again.notifications] == [held[0].key]
