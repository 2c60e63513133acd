"""The calendar's operator commands as real subprocesses against the three simulators:
`sync calendar` (dry run, a real run, the safety brake and --allow-mass-changes),
`calendar adopt` (preview, --apply) and `audit calendar`."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from services.clients import SessionHolder
from tests.beteiligte_service.conftest import advoware_client
from tests.clients.conftest import make_google_client
from tests.fixtures.espocrm_sim import start_espocrm_sim
from tests.fixtures.google_sim import OWNER, start_google_sim
from tests.fixtures.service_process import base_env, run_cli
from tests.steps.conftest import advoware_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def termin(n: int, text: str) -> dict[str, object]:
    return {"datum": day(n), "uhrzeitVon": "10:00", "datumBis": day(n), "uhrzeitBis": "11:00", "text": text}


@pytest.fixture
async def env(tmp_path, advoware_sim):
    google = await start_google_sim()
    try:
        async with start_espocrm_sim() as espo:
            for kuerzel, name in (("SB", "Beispiel"), ("AI", "Illing")):
                advoware_sim.state.add_employee(kuerzel, name, "Test")
            values = base_env(
                ENGINE_DB_PATH=str(tmp_path / "engine.db"),
                DATABASE_URL=f"sqlite:///{tmp_path}/s.db",
                ESPOCRM_API_BASE_URL=espo.url,
                ESPOCRM_API_KEY=espo.config.api_key,
                GOOGLE_API_BASE_URL=google.url,
                GOOGLE_TOKEN_URL=google.token_url,
                GOOGLE_SERVICE_ACCOUNT_FILE=str(google.key_file(tmp_path)),
                GOOGLE_CALENDAR_OWNER=OWNER,
                CALENDAR_MASS_CHANGE_MAX_EVENTS="2",
                CALENDAR_MASS_CHANGE_MAX_PERCENT="10",
                **advoware_settings(advoware_sim),
            )
            holder = SessionHolder()
            try:
                yield values, advoware_sim, google, holder
            finally:
                await holder.close()
    finally:
        await google.running.stop()


async def cli(values, *args: str):
    return await asyncio.to_thread(run_cli, list(args), values)


def events_of(google, summary: str) -> list[object]:
    (calendar,) = [c for c in google.state.calendars.values() if c.summary == summary]
    return [e for e in calendar.events.values() if not e.cancelled]


async def test_sync_dry_run_then_sync_then_the_brake_and_allow_mass_changes_then_audit(env):
    values, advo, google, holder = env
    user = advoware_client(advo, holder)
    frnrs = [(await user.create_termin({**termin(n, "Geheim"), "kuerzel": "SB"}))["frNr"] for n in (1, 2, 3)]

    preview = await cli(values, "sync", "calendar", "sb", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.splitlines()[0] == "SB: dry_run"
    assert all(f"insert_google    Termin {f}" in preview.stdout for f in frnrs)
    assert "planned: insert_google 3" in preview.stdout and "Geheim" not in preview.stdout
    assert not google.state.calendars  # nothing written, not even the calendar

    synced = await cli(values, "sync", "calendar", "SB")
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.splitlines()[0] == "SB: synced (insert_google 3)"
    assert len(events_of(google, "SB")) == 3

    for f in frnrs:  # 3 deletes in Advoware, above the limit of 2
        await user.delete_termin(f)
    braked = await cli(values, "sync", "calendar", "SB")
    assert braked.returncode == 1
    assert "SB: braked" in braked.stdout and "safety brake: 0 creates, 3 deletes (limit 2)" in braked.stdout
    assert "--allow-mass-changes" in braked.stderr.splitlines()[-1]
    assert len(events_of(google, "SB")) == 3  # nothing applied

    allowed = await cli(values, "sync", "calendar", "SB", "--allow-mass-changes")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.splitlines()[0] == "SB: synced (delete_google 3)"
    assert events_of(google, "SB") == []

    audit = await cli(values, "audit", "calendar", "SB")
    assert audit.returncode == 0, audit.stderr
    results = [line.split()[2] for line in audit.stdout.splitlines() if "trigger=cli" in line]
    assert results == ["synced", "braked", "synced"]  # newest first; the dry run is not audited
    assert "planned: delete_google 3" in audit.stdout and "Geheim" not in audit.stdout


async def test_adopt_previews_then_applies_a_found_calendar(env):
    values, advo, google, holder = env
    frnr = (await advoware_client(advo, holder).create_termin({**termin(4, "Gericht"), "kuerzel": "AI"}))[
        "frNr"
    ]
    owner = make_google_client(google, holder, subject=OWNER)
    found = await owner.insert_calendar("AI", "Europe/Berlin")
    when = {"start": {"dateTime": f"{day(4)}T10:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": f"{day(4)}T11:00:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
    matching = await owner.insert_event(found["id"], {"summary": "Gericht", **when})
    other = await owner.insert_event(found["id"], {"summary": "Privat", **when})

    preview = await cli(values, "calendar", "adopt", "AI")
    assert preview.returncode == 0, preview.stderr
    assert f"link_google      Termin {frnr}" in preview.stdout
    assert "1 Google event(s) match no Termin" in preview.stdout and other["id"] in preview.stdout
    assert len(advo.state.termine) == 1 and "advowareFrNr" not in str(events_of(google, "AI"))

    applied = await cli(values, "calendar", "adopt", "AI", "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "link_google 1" in applied.stdout and "create_advoware 1" in applied.stdout
    assert len(advo.state.termine) == 2  # the unmatched event went to Advoware, once
    assert len(events_of(google, "AI")) == 2 and matching["id"] in {e.id for e in events_of(google, "AI")}

    again = await cli(values, "sync", "calendar", "AI")
    assert again.returncode == 0 and again.stdout.splitlines()[0] == "AI: noop", again.stdout
