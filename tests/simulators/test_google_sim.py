"""The Google Calendar simulator over real HTTP: one test per quirk G1–G12 (EXTERNAL_SYSTEMS
3.4) plus DST, all-day, paging, etags, admin extras, seed and snapshot."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest

from simulators.google import GoogleSimConfig
from tests.fixtures.google_sim import GoogleSim, google_sim, start_google_sim

__all__ = ["google_sim"]  # the fixture is used by name

BERLIN = "Europe/Berlin"


class Api:
    """A thin Calendar API caller for the tests (status + JSON)."""

    def __init__(self, sim: GoogleSim, session: aiohttp.ClientSession) -> None:
        self.sim, self.session = sim, session

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        base = self.sim.root if path.startswith("/_admin") or path == "/token" else self.sim.url
        async with self.session.request(method, base + path, **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def calendar(self, summary: str = "SB") -> str:
        status, body = await self.call("POST", "/calendars", json={"summary": summary, "timeZone": BERLIN})
        assert status == 200, body
        return str(body["id"])

    async def insert(self, cal: str, **event: Any) -> dict[str, Any]:
        status, body = await self.call("POST", f"/calendars/{cal}/events", json=event)
        assert status == 200, body
        return dict(body)

    async def list(self, cal: str, **params: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/calendars/{cal}/events", params=params)
        assert status == 200, body
        return dict(body)

    async def list_all(self, cal: str, **params: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """All items over all pages, and the page bodies."""
        items, pages, token = [], [], None
        while True:
            page = await self.list(cal, **params, **({"pageToken": token} if token else {}))
            pages.append(page)
            items.extend(page["items"])
            token = page.get("nextPageToken")
            if not token:
                return items, pages


@pytest.fixture
async def api(google_sim: GoogleSim):
    async with aiohttp.ClientSession(headers=google_sim.headers) as session:
        yield Api(google_sim, session)


def timed(local: str) -> dict[str, str]:
    return {"dateTime": local, "timeZone": BERLIN}


def meeting(event_id: str | None = None, day: str = "2026-03-02", **extra: Any) -> dict[str, Any]:
    body = {
        "summary": "Besprechung",
        "start": timed(f"{day}T10:00:00"),
        "end": timed(f"{day}T11:30:00"),
        **extra,
    }
    return {**body, "id": event_id} if event_id else body


def reason(body: dict[str, Any]) -> str:
    return str(body["error"]["errors"][0]["reason"])


# -- auth and calendars --------------------------------------------------------------------------


async def test_missing_authorization_is_401(google_sim: GoogleSim):
    async with aiohttp.ClientSession() as session:
        async with session.get(google_sim.url + "/users/me/calendarList") as response:
            assert response.status == 401
            body = await response.json()
    assert body["error"]["code"] == 401 and reason(body) == "required"


async def test_calendars_insert_get_list_paging_delete(api: Api):
    ids = [await api.calendar(k) for k in ("SB", "AI", "RO")]
    assert all(i.endswith("@group.calendar.google.com") for i in ids)
    status, body = await api.call("GET", "/users/me/calendarList", params={"maxResults": "2"})
    assert [c["summary"] for c in body["items"]] == ["SB", "AI"] and "nextPageToken" in body
    params = {"maxResults": "2", "pageToken": body["nextPageToken"]}
    status, body = await api.call("GET", "/users/me/calendarList", params=params)
    assert [c["summary"] for c in body["items"]] == ["RO"] and "nextPageToken" not in body
    assert body["items"][0]["kind"] == "calendar#calendarListEntry"
    status, body = await api.call("GET", f"/calendars/{ids[0]}")
    assert status == 200 and body["timeZone"] == BERLIN
    assert (await api.call("DELETE", f"/calendars/{ids[0]}"))[0] == 204
    status, body = await api.call("GET", f"/calendars/{ids[0]}/events")
    assert status == 404 and reason(body) == "notFound"
    status, body = await api.call("POST", "/calendars", json={"timeZone": BERLIN})
    assert status == 400


# -- quirks G1–G12 -------------------------------------------------------------------------------


async def test_G1_sync_token_lists_changed_and_deleted_events(api: Api):
    cal = await api.calendar()
    await api.insert(cal, **meeting("keep0"))
    await api.insert(cal, **meeting("gone0"))
    token = (await api.list(cal))["nextSyncToken"]
    assert (await api.list(cal, syncToken=token))["items"] == []
    await api.call("PATCH", f"/calendars/{cal}/events/keep0", json={"summary": "neu"})
    await api.call("DELETE", f"/calendars/{cal}/events/gone0")
    await api.insert(cal, **meeting("neu00"))
    changed = await api.list(cal, syncToken=token)
    by_id = {item["id"]: item for item in changed["items"]}
    assert set(by_id) == {"keep0", "gone0", "neu00"}
    assert by_id["gone0"]["status"] == "cancelled" and "summary" not in by_id["gone0"]
    assert by_id["keep0"]["summary"] == "neu"
    assert (await api.list(cal, syncToken=changed["nextSyncToken"]))["items"] == []


async def test_G2_next_sync_token_only_on_last_page(api: Api):
    cal = await api.calendar()
    for i in range(5):
        await api.insert(cal, **meeting(f"page{i}", day=f"2026-03-0{i + 2}"))
    items, pages = await api.list_all(cal, maxResults="2")
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert all("nextSyncToken" not in p and "nextPageToken" in p for p in pages[:-1])
    assert "nextSyncToken" in pages[-1] and "nextPageToken" not in pages[-1]
    assert sorted(i["id"] for i in items) == [f"page{i}" for i in range(5)]
    # A change made while paging is not lost: the token is as of the first page.
    first = await api.list(cal, maxResults="3")
    await api.call("PATCH", f"/calendars/{cal}/events/page0", json={"summary": "während"})
    last = await api.list(cal, maxResults="3", pageToken=first["nextPageToken"])
    delta = await api.list(cal, syncToken=last["nextSyncToken"])
    assert [i["id"] for i in delta["items"]] == ["page0"]


@pytest.mark.parametrize(
    "param",
    [
        ("timeMin", "2026-01-01T00:00:00Z"),
        ("timeMax", "2026-01-01T00:00:00Z"),
        ("orderBy", "updated"),
        ("q", "x"),
        ("updatedMin", "2026-01-01T00:00:00Z"),
        ("privateExtendedProperty", "a=b"),
        ("iCalUID", "x@google.com"),
    ],
)
async def test_G3_sync_token_with_filters_is_400(api: Api, param: tuple[str, str]):
    cal = await api.calendar()
    token = (await api.list(cal))["nextSyncToken"]
    status, body = await api.call(
        "GET", f"/calendars/{cal}/events", params={"syncToken": token, param[0]: param[1]}
    )
    assert status == 400 and body["error"]["code"] == 400


async def test_G4_invalid_sync_token_is_410(api: Api, google_sim: GoogleSim):
    cal = await api.calendar()
    path = f"/calendars/{cal}/events"
    status, body = await api.call("GET", path, params={"syncToken": "garbage"})
    assert status == 410 and reason(body) == "fullSyncRequired"
    token = (await api.list(cal))["nextSyncToken"]
    assert (await api.call("POST", "/_admin/invalidate-sync-tokens"))[0] == 200
    status, body = await api.call("GET", path, params={"syncToken": token})
    assert status == 410 and reason(body) == "fullSyncRequired"
    token = (await api.list(cal))["nextSyncToken"]
    await api.call("POST", "/_admin/clock", json={"advance_s": google_sim.config.sync_token_lifetime_s + 1})
    assert (await api.call("GET", path, params={"syncToken": token}))[0] == 410
    other = await api.calendar("AI")
    token = (await api.list(other))["nextSyncToken"]
    assert (await api.call("GET", path, params={"syncToken": token}))[0] == 410


async def test_G5_every_change_new_etag_and_stale_if_match_is_412(api: Api):
    cal = await api.calendar()
    created = await api.insert(cal, **meeting("etag0"))
    assert created["etag"].startswith('"') and created["etag"].endswith('"')
    path = f"/calendars/{cal}/events/etag0"
    status, patched = await api.call(
        "PATCH", path, json={"summary": "a"}, headers={"If-Match": created["etag"]}
    )
    assert status == 200 and patched["etag"] != created["etag"] and patched["updated"] >= created["updated"]
    status, body = await api.call("PATCH", path, json={"summary": "b"}, headers={"If-Match": created["etag"]})
    assert status == 412 and reason(body) == "conditionNotMet"
    status, body = await api.call("DELETE", path, headers={"If-Match": created["etag"]})
    assert status == 412
    status, put = await api.call("PUT", path, json=meeting(), headers={"If-Match": patched["etag"]})
    assert status == 200 and put["etag"] not in (created["etag"], patched["etag"])


async def test_G6_all_day_uses_date_and_end_is_exclusive(api: Api):
    cal = await api.calendar()
    event = await api.insert(
        cal, id="urlaub0", summary="Urlaub", start={"date": "2026-03-02"}, end={"date": "2026-03-04"}
    )
    assert event["start"] == {"date": "2026-03-02"} and event["end"] == {"date": "2026-03-04"}
    on_3rd = await api.list(cal, timeMin="2026-03-03T12:00:00+01:00", timeMax="2026-03-03T13:00:00+01:00")
    on_4th = await api.list(cal, timeMin="2026-03-04T00:00:00+01:00", timeMax="2026-03-04T23:00:00+01:00")
    assert [i["id"] for i in on_3rd["items"]] == ["urlaub0"] and on_4th["items"] == []
    status, _ = await api.call(
        "POST",
        f"/calendars/{cal}/events",
        json={"start": {"date": "2026-03-02"}, "end": {"date": "2026-03-02"}},
    )
    assert status == 400
    offset_only = {
        "start": {"dateTime": "2026-03-02T10:00:00+01:00"},
        "end": {"dateTime": "2026-03-02T11:00:00+01:00"},
    }
    assert (await api.insert(cal, **offset_only))["start"]["dateTime"] == "2026-03-02T10:00:00+01:00"
    naive = {"start": {"dateTime": "2026-03-02T10:00:00"}, "end": {"dateTime": "2026-03-02T11:00:00"}}
    status, body = await api.call("POST", f"/calendars/{cal}/events", json=naive)
    assert status == 400 and "time zone" in body["error"]["message"]


async def test_G7_recurring_instances_and_exceptions(api: Api):
    cal = await api.calendar()
    await api.insert(cal, **meeting("serie0", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    window = {"timeMin": "2026-03-01T00:00:00Z", "timeMax": "2026-04-01T00:00:00Z"}
    masters = await api.list(cal, **window)
    assert [i["id"] for i in masters["items"]] == ["serie0"]
    single = await api.list(cal, singleEvents="true", orderBy="startTime", **window)
    ids = [i["id"] for i in single["items"]]
    assert ids == ["serie0_20260302T090000Z", "serie0_20260309T090000Z", "serie0_20260316T090000Z",
                   "serie0_20260323T090000Z"]  # fmt: skip
    assert all(i["recurringEventId"] == "serie0" for i in single["items"])
    assert single["items"][1]["originalStartTime"] == timed("2026-03-09T10:00:00+01:00") | {
        "timeZone": BERLIN
    }
    token = single["nextSyncToken"]
    status, moved = await api.call(
        "PATCH", f"/calendars/{cal}/events/{ids[1]}", json={"summary": "verschoben"}
    )
    assert status == 200 and moved["recurringEventId"] == "serie0"
    assert (await api.call("DELETE", f"/calendars/{cal}/events/{ids[2]}"))[0] == 204
    after = await api.list(cal, singleEvents="true", orderBy="startTime", **window)
    assert [i["id"] for i in after["items"]] == [ids[0], ids[1], ids[3]]
    assert after["items"][1]["summary"] == "verschoben"
    with_deleted = await api.list(cal, singleEvents="true", showDeleted="true", **window)
    cancelled = [i for i in with_deleted["items"] if i["status"] == "cancelled"]
    assert [(i["id"], i["recurringEventId"]) for i in cancelled] == [(ids[2], "serie0")]
    changes = await api.list(cal, syncToken=token)
    assert {i["id"] for i in changes["items"]} == {ids[1], ids[2]}
    status, _ = await api.call("GET", f"/calendars/{cal}/events/serie0_20260310T090000Z")
    assert status == 404  # not an occurrence of the series


async def test_G8_delete_twice_is_410_and_deleted_event_readable(api: Api):
    cal = await api.calendar()
    await api.insert(cal, **meeting("del00"))
    path = f"/calendars/{cal}/events/del00"
    assert (await api.call("DELETE", path))[0] == 204
    status, body = await api.call("DELETE", path)
    assert status == 410 and reason(body) == "deleted"
    status, body = await api.call("GET", path)
    assert status == 200 and body["status"] == "cancelled" and body["summary"] == "Besprechung"
    assert (await api.list(cal))["items"] == []
    assert [i["id"] for i in (await api.list(cal, showDeleted="true"))["items"]] == ["del00"]


@pytest.mark.parametrize(
    ("kind", "status", "expected_reason"),
    [
        ("403", 403, "rateLimitExceeded"),
        ("429", 429, "rateLimitExceeded"),
        ("quotaExceeded", 403, "quotaExceeded"),
    ],
)
async def test_G9_rate_limit_errors_on_demand(api: Api, google_sim: GoogleSim, kind, status, expected_reason):
    cal = await api.calendar()
    await api.call("POST", "/_admin/rate-limit", json={"count": 2, "kind": kind})
    results = [await api.call("GET", f"/calendars/{cal}/events") for _ in range(3)]
    assert [r[0] for r in results] == [status, status, 200]
    error = results[0][1]["error"]
    assert error["code"] == status and error["errors"][0]["reason"] == expected_reason
    assert error["errors"][0]["domain"] == "usageLimits"
    assert google_sim.calls()[("GET", "/calendar/v3/calendars/{calendarId}/events", status)] == 2


async def test_G9_injected_faults_use_google_error_shape(api: Api):
    cal = await api.calendar()
    rule = {"method": "GET", "route": "*/events", "status": 503, "count": 1}
    await api.call("POST", "/_admin/faults", json={"rules": [rule]})
    status, body = await api.call("GET", f"/calendars/{cal}/events")
    assert status == 503 and reason(body) == "backendError" and body["error"]["code"] == 503


async def test_G10_client_ids_must_be_base32hex_and_unique(api: Api):
    cal = await api.calendar()
    path = f"/calendars/{cal}/events"
    for bad in ("ABCDEF", "abcw1", "abc", "x" * 1025, "abc-def"):
        status, body = await api.call("POST", path, json=meeting(bad))
        assert status == 400, bad
    await api.insert(cal, **meeting("0123456789abcdefghijklmnopqrstuv"))
    status, body = await api.call("POST", path, json=meeting("0123456789abcdefghijklmnopqrstuv"))
    assert status == 409 and reason(body) == "duplicate"
    await api.call("DELETE", f"{path}/0123456789abcdefghijklmnopqrstuv")
    assert (await api.call("POST", path, json=meeting("0123456789abcdefghijklmnopqrstuv")))[0] == 409
    generated = await api.insert(cal, **meeting())
    assert 5 <= len(generated["id"]) and set(generated["id"]) <= set("0123456789abcdefghijklmnopqrstuv")


async def test_G10_lost_insert_response_then_retry_gets_409(api: Api):
    """DECISIONS 5: the insert happened, its answer was lost; the retry with the same id is 409."""
    cal = await api.calendar()
    rule = {"method": "POST", "route": "*/events", "status": 504, "count": 1, "after_write": True}
    await api.call("POST", "/_admin/faults", json={"rules": [rule]})
    assert (await api.call("POST", f"/calendars/{cal}/events", json=meeting("lost0")))[0] == 504
    assert (await api.call("POST", f"/calendars/{cal}/events", json=meeting("lost0")))[0] == 409
    assert (await api.call("GET", f"/calendars/{cal}/events/lost0"))[0] == 200


async def test_G11_private_extended_property_filter(api: Api):
    cal = await api.calendar()
    await api.insert(
        cal, **meeting("adv01", extendedProperties={"private": {"advowareFrNr": "1", "kuerzel": "SB"}})
    )
    await api.insert(
        cal, **meeting("adv02", extendedProperties={"private": {"advowareFrNr": "2", "kuerzel": "SB"}})
    )
    await api.insert(cal, **meeting("plain"))
    one = await api.list(cal, privateExtendedProperty="advowareFrNr=2")
    assert [i["id"] for i in one["items"]] == ["adv02"]
    params = [("privateExtendedProperty", "kuerzel=SB"), ("privateExtendedProperty", "advowareFrNr=1")]
    status, both = await api.call("GET", f"/calendars/{cal}/events", params=params)
    assert [i["id"] for i in both["items"]] == ["adv01"]
    bad = meeting(extendedProperties={"private": {"n": 1}})
    status, _ = await api.call("POST", f"/calendars/{cal}/events", json=bad)
    assert status == 400


async def test_G12_instants_stored_and_rendered_in_zone(api: Api):
    cal = await api.calendar()
    body = {"start": {"dateTime": "2026-07-01T08:00:00Z"}, "end": {"dateTime": "2026-07-01T09:00:00Z"}}
    event = await api.insert(cal, id="utc00", **body)
    assert event["start"] == {"dateTime": "2026-07-01T10:00:00+02:00"}  # calendar zone, summer
    status, read = await api.call("GET", f"/calendars/{cal}/events/utc00", params={"timeZone": "UTC"})
    assert read["start"] == {"dateTime": "2026-07-01T08:00:00Z"}
    winter = await api.insert(cal, start=timed("2026-01-15T10:00:00"), end=timed("2026-01-15T11:00:00"))
    assert winter["start"]["dateTime"] == "2026-01-15T10:00:00+01:00"
    found = await api.list(cal, timeMin="2026-07-01T07:59:00Z", timeMax="2026-07-01T08:01:00Z")
    assert [i["id"] for i in found["items"]] == ["utc00"]


# -- more behaviour --------------------------------------------------------------------------------


async def test_dst_weekly_series_stays_at_10_local(api: Api):
    cal = await api.calendar()
    await api.insert(cal, **meeting("dst00", day="2026-03-16", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    items = (await api.list(cal, singleEvents="true", orderBy="startTime"))["items"]
    starts = [i["start"]["dateTime"] for i in items]
    assert starts == ["2026-03-16T10:00:00+01:00", "2026-03-23T10:00:00+01:00",
                      "2026-03-30T10:00:00+02:00", "2026-04-06T10:00:00+02:00"]  # fmt: skip
    utc_hours = [datetime.fromisoformat(s).astimezone(UTC).hour for s in starts]
    assert utc_hours == [9, 9, 8, 8]
    assert [i["end"]["dateTime"][11:19] for i in items] == ["11:30:00"] * 4


async def test_recurrence_exdate_until_and_all_day_series(api: Api):
    cal = await api.calendar()
    rec = ["RRULE:FREQ=DAILY;UNTIL=20260305", "EXDATE;VALUE=DATE:20260303"]
    await api.insert(
        cal, id="taeglich0", start={"date": "2026-03-02"}, end={"date": "2026-03-03"}, recurrence=rec
    )
    items = (await api.list(cal, singleEvents="true", orderBy="startTime"))["items"]
    assert [i["id"] for i in items] == ["taeglich0_20260302", "taeglich0_20260304", "taeglich0_20260305"]
    assert items[1]["end"] == {"date": "2026-03-05"}
    bad = meeting(recurrence=["RRULE:FREQ=SOMETIMES"])
    assert (await api.call("POST", f"/calendars/{cal}/events", json=bad))[0] == 400


async def test_order_by_start_time_needs_single_events(api: Api):
    cal = await api.calendar()
    status, body = await api.call("GET", f"/calendars/{cal}/events", params={"orderBy": "startTime"})
    assert status == 400 and body["error"]["code"] == 400


async def test_patch_is_partial_put_is_full(api: Api):
    cal = await api.calendar()
    await api.insert(cal, **meeting("patch0", location="Kanzlei", extendedProperties={"private": {"a": "1"}}))
    path = f"/calendars/{cal}/events/patch0"
    status, patched = await api.call("PATCH", path, json={"extendedProperties": {"private": {"b": "2"}}})
    assert patched["location"] == "Kanzlei" and patched["extendedProperties"]["private"] == {
        "a": "1",
        "b": "2",
    }
    assert patched["sequence"] == 0
    status, patched = await api.call("PATCH", path, json={"start": timed("2026-03-02T09:00:00")})
    assert patched["start"]["dateTime"] == "2026-03-02T09:00:00+01:00" and patched["sequence"] == 1
    status, put = await api.call("PUT", path, json=meeting())
    assert status == 200 and "location" not in put and "extendedProperties" not in put


async def test_updated_min_and_time_window_overlap(api: Api, google_sim: GoogleSim):
    cal = await api.calendar()
    await api.insert(cal, **meeting("old00"))
    await api.insert(cal, **meeting("gone1"))
    await api.call("POST", "/_admin/clock", json={"advance_s": 60})
    cutoff = google_sim.state.now().isoformat()
    await api.call("DELETE", f"/calendars/{cal}/events/gone1")
    await api.insert(cal, **meeting("neu01"))
    recent = await api.list(cal, updatedMin=cutoff)
    assert {(i["id"], i["status"]) for i in recent["items"]} == {
        ("gone1", "cancelled"),
        ("neu01", "confirmed"),
    }
    # 10:00–11:30 overlaps a window that starts at 11:00 but not one that starts at 11:30.
    assert len((await api.list(cal, timeMin="2026-03-02T11:00:00+01:00"))["items"]) == 2
    assert (await api.list(cal, timeMin="2026-03-02T11:30:00+01:00"))["items"] == []


async def test_seed_is_deterministic_and_covers_all_kinds(api: Api):
    seed_body = {"calendars": ["SB", "AI"], "events_per_calendar": 12, "seed": 1, "anchor": "2026-02-02"}

    async def snapshot() -> list[dict[str, Any]]:
        status, counts = await api.call("POST", "/_admin/seed", json=seed_body)
        assert counts["calendars"] == 2 and counts["events"] == 24
        status, state = await api.call("GET", "/_admin/state")
        return [
            {
                k: v
                for k, v in e.items()
                if k not in ("created", "updated", "etag", "change_seq", "calendar_id")
            }
            for c in state["calendars"]
            for e in c["events"]
        ]

    first = await snapshot()
    await api.call("POST", "/_admin/reset")
    assert first == await snapshot()
    assert (await api.call("POST", "/_admin/seed", json=seed_body))[1]["events"] == 0  # idempotent
    assert any("date" in e["start"] for e in first)
    assert any(e["recurrence"] for e in first)
    assert any("date" in e["start"] and _days(e) >= 2 for e in first)
    cal = (await api.call("GET", "/users/me/calendarList"))[1]["items"][0]["id"]
    items = (await api.list(cal, singleEvents="true", orderBy="startTime"))["items"]
    offsets = {
        i["start"]["dateTime"][-6:] for i in items if i.get("recurringEventId") and "dateTime" in i["start"]
    }
    assert offsets == {"+01:00", "+02:00"}  # the series cross the March change


def _days(stored: dict[str, Any]) -> int:
    return (date.fromisoformat(stored["end"]["date"]) - date.fromisoformat(stored["start"]["date"])).days


async def test_snapshot_roundtrip(tmp_path):
    path = tmp_path / "google.json"
    sim = await start_google_sim(GoogleSimConfig(snapshot_path=path))
    async with aiohttp.ClientSession(headers=sim.headers) as session:
        api = Api(sim, session)
        cal = await api.calendar()
        await api.insert(cal, **meeting("snap0"))
        status, body = await api.call("POST", "/_admin/snapshot")
        assert status == 200 and path.exists()
        await api.insert(cal, **meeting("snap1"))
    await sim.running.stop()  # cleanup saves again
    again = await start_google_sim(GoogleSimConfig(snapshot_path=path))
    try:
        async with aiohttp.ClientSession(headers=again.headers) as session:
            api = Api(again, session)
            assert sorted(i["id"] for i in (await api.list(cal))["items"]) == ["snap0", "snap1"]
            assert (await api.call("POST", f"/calendars/{cal}/events", json=meeting("snap1")))[0] == 409
    finally:
        await again.running.stop()


async def test_calls_are_counted_by_route_template(api: Api, google_sim: GoogleSim):
    cal = await api.calendar()
    await api.insert(cal, **meeting("count"))
    await api.call("GET", f"/calendars/{cal}/events/count")
    calls = google_sim.calls()
    assert calls[("GET", "/calendar/v3/calendars/{calendarId}/events/{eventId}", 200)] == 1
    assert calls[("POST", "/calendar/v3/calendars/{calendarId}/events", 200)] == 1
    assert google_sim.total_calls() == 3


async def test_paging_is_stable_when_items_vanish_between_pages(api: Api):
    cal = await api.calendar()
    for i in range(6):
        await api.insert(cal, **meeting(f"stab{i}"))
    first = await api.list(cal, maxResults="3")
    await api.call("DELETE", f"/calendars/{cal}/events/{first['items'][0]['id']}")
    rest = await api.list(cal, maxResults="3", pageToken=first["nextPageToken"])
    seen = [i["id"] for i in first["items"] + rest["items"]]
    assert sorted(seen) == [f"stab{i}" for i in range(6)]
    status, _ = await api.call("GET", f"/calendars/{cal}/events", params={"pageToken": "Pnonsense"})
    assert status == 400


async def test_incremental_single_events_lists_instances_of_changed_series(api: Api):
    cal = await api.calendar()
    token = (await api.list(cal, singleEvents="true"))["nextSyncToken"]
    await api.insert(cal, **meeting("serie1", recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    delta = await api.list(cal, singleEvents="true", syncToken=token)
    assert [i["id"] for i in delta["items"]] == [
        "serie1_20260302T090000Z",
        "serie1_20260303T090000Z",
        "serie1_20260304T090000Z",
    ]


async def test_rate_limit_can_target_one_route(api: Api):
    cal = await api.calendar()
    await api.call("POST", "/_admin/rate-limit", json={"count": 1, "kind": "429", "route": "*/events"})
    assert (await api.call("GET", f"/calendars/{cal}"))[0] == 200
    assert (await api.call("GET", f"/calendars/{cal}/events"))[0] == 429
    assert (await api.call("GET", f"/calendars/{cal}/events"))[0] == 200
    status, _ = await api.call("POST", "/_admin/rate-limit", json={"count": 1, "kind": "teapot"})
    assert status == 400


# -- fidelity: bounded series far ahead, events.instances -----------------------------------------


@pytest.mark.parametrize("bound", ["COUNT=3", "UNTIL=20281231T235959Z"])
async def test_bounded_series_beyond_the_expansion_horizon_is_listed(
    api: Api, google_sim: GoogleSim, bound: str
):
    """A series with COUNT/UNTIL starting more than 730 days ahead once vanished from every
    listing while events.get returned it (found with Google's own client)."""
    cal = await api.calendar()
    start = google_sim.state.now().date().replace(day=1).replace(year=google_sim.state.now().year + 2)
    day = f"{start.year}-{start.month:02d}-02"
    if bound.startswith("UNTIL"):
        bound = f"UNTIL={start.year}{start.month:02d}20T235959Z"
    await api.insert(cal, **meeting("far0001", day=day, recurrence=[f"RRULE:FREQ=WEEKLY;{bound}"]))
    assert (await api.call("GET", f"/calendars/{cal}/events/far0001"))[0] == 200
    masters = (await api.list(cal))["items"]
    assert [e["id"] for e in masters] == ["far0001"]
    instances = (await api.list(cal, singleEvents="true"))["items"]
    assert len(instances) == 3 and {i["recurringEventId"] for i in instances} == {"far0001"}
    window = {"timeMin": f"{day}T00:00:00Z", "timeMax": f"{start.year + 1}-01-01T00:00:00Z"}
    assert [e["id"] for e in (await api.list(cal, **window))["items"]] == ["far0001"]
    token = (await api.list(cal))["nextSyncToken"]
    await api.call("PATCH", f"/calendars/{cal}/events/far0001", json={"summary": "neu"})
    assert [e["id"] for e in (await api.list(cal, syncToken=token))["items"]] == ["far0001"]


async def test_open_ended_series_far_ahead_is_listed_as_master(api: Api, google_sim: GoogleSim):
    cal = await api.calendar()
    year = google_sim.state.now().year + 3
    await api.insert(cal, **meeting("far0002", day=f"{year}-03-02", recurrence=["RRULE:FREQ=MONTHLY"]))
    assert [e["id"] for e in (await api.list(cal))["items"]] == ["far0002"]


async def test_instances_of_a_series_with_a_moved_and_a_cancelled_occurrence(api: Api):
    cal = await api.calendar()
    await api.insert(cal, **meeting("inst0001", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    moved, cancelled = "inst0001_20260309T090000Z", "inst0001_20260316T090000Z"
    status, _ = await api.call(
        "PATCH", f"/calendars/{cal}/events/{moved}",
        json={"start": timed("2026-03-09T14:00:00"), "end": timed("2026-03-09T15:00:00")},
    )  # fmt: skip
    assert status == 200
    assert (await api.call("DELETE", f"/calendars/{cal}/events/{cancelled}"))[0] == 204
    status, body = await api.call("GET", f"/calendars/{cal}/events/inst0001/instances")
    assert status == 200
    assert [(i["id"], i["start"]["dateTime"][11:16]) for i in body["items"]] == [
        ("inst0001_20260302T090000Z", "10:00"),
        (moved, "14:00"),
        ("inst0001_20260323T090000Z", "10:00"),
    ]
    assert all(i["recurringEventId"] == "inst0001" for i in body["items"])
    status, body = await api.call(
        "GET",
        f"/calendars/{cal}/events/inst0001/instances",
        params={"showDeleted": "true", "maxResults": "2"},
    )
    first = body["items"]
    status, rest = await api.call(
        "GET", f"/calendars/{cal}/events/inst0001/instances",
        params={"showDeleted": "true", "maxResults": "2", "pageToken": body["nextPageToken"]},
    )  # fmt: skip
    assert [i["status"] for i in first + rest["items"]] == [
        "confirmed",
        "confirmed",
        "cancelled",
        "confirmed",
    ]
    window = {"timeMin": "2026-03-08T00:00:00Z", "timeMax": "2026-03-10T00:00:00Z"}
    status, body = await api.call("GET", f"/calendars/{cal}/events/inst0001/instances", params=window)
    assert [i["id"] for i in body["items"]] == [moved]
    assert (await api.call("GET", f"/calendars/{cal}/events/nothere01/instances"))[0] == 404
    await api.call("DELETE", f"/calendars/{cal}/events/inst0001")
    assert (await api.call("GET", f"/calendars/{cal}/events/inst0001/instances"))[0] == 410


async def test_writes_record_send_updates(api: Api, google_sim: GoogleSim):
    cal = await api.calendar()
    guests = {"attendees": [{"email": "mandant@example.org"}]}
    status, _ = await api.call(
        "POST", f"/calendars/{cal}/events", params={"sendUpdates": "all"}, json=meeting("mail0001", **guests)
    )
    assert status == 200
    await api.call(
        "PATCH", f"/calendars/{cal}/events/mail0001", params={"sendUpdates": "none"}, json={"summary": "x"}
    )
    assert [(w.method, w.send_updates, w.attendees) for w in google_sim.state.event_writes] == [
        ("POST", "all", 1),
        ("PATCH", "none", 1),
    ]
