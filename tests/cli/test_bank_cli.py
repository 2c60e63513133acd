"""`bitbylaw sync bankverbindungen ID [--dry-run]` as a real subprocess against the simulators:
a preview writes nothing, the sync creates exactly one Advoware account, a second run writes
nothing; a party not yet in Advoware, an invalid IBAN, a held party lock and an unknown id are
one line on stderr with exit 1 (SYNC_RULES §4)."""

from __future__ import annotations

import pytest

from tests.cli.test_operator_cli import PERSON, cli, env  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

BANK = "CBankverbindungen"
IBAN = "DE89370400440532013000"
ACCOUNT = {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "bankname": "Commerzbank",
           "kontoinhaber": "Olga Operator", "assignedUserId": "user-anna"}  # fmt: skip


async def test_preview_then_sync_then_nothing_left_to_do(env):  # noqa: F811
    values, espo, advo = env
    party = await espo.create_as_user("CBeteiligte", PERSON)
    assert (await cli(values, "sync", "beteiligte", party["id"])).returncode == 0
    betnr = espo.state.get("CBeteiligte", party["id"])["betnr"]
    account = await espo.create_as_user(BANK, {**ACCOUNT, "beteiligteId": party["id"]})
    aid = account["id"]
    before = espo.state.get(BANK, aid)

    preview = await cli(values, "sync", "bankverbindungen", aid, "--dry-run")
    assert preview.returncode == 0, preview.stderr
    lines = preview.stdout.splitlines()
    assert lines[0] == f"{aid}: dry_run" and lines[1] == "  plan: create", preview.stdout
    assert f"    advoware.create_account ({betnr})" in lines
    assert IBAN not in preview.stdout and "Olga" not in preview.stdout  # no personal data
    assert advo.state.parties[betnr].bankverbindungen == [] and espo.state.get(BANK, aid) == before

    synced = await cli(values, "sync", "bankverbindungen", aid)
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.splitlines()[0] == f"{aid}: created"
    (created,) = advo.state.parties[betnr].bankverbindungen
    record = espo.state.get(BANK, aid)
    assert created.values["iban"] == IBAN and created.values["bemerkung"] == f"EspoCRM-ID: {aid}"
    assert record["advowareKontoId"] == created.id and record["syncStatus"] == "clean"

    again = await cli(values, "sync", "bankverbindungen", aid)
    assert again.returncode == 0 and again.stdout.splitlines()[0] == f"{aid}: noop", again.stdout
    assert len(advo.state.parties[betnr].bankverbindungen) == 1


async def test_party_not_in_advoware_invalid_iban_lock_held_and_unknown_id(env, tmp_path):  # noqa: F811
    values, espo, advo = env
    party = await espo.create_as_user("CBeteiligte", PERSON)
    waiting = (await espo.create_as_user(BANK, {**ACCOUNT, "beteiligteId": party["id"]}))["id"]
    for args in (["sync", "bankverbindungen", waiting, "--dry-run"], ["sync", "bankverbindungen", waiting]):
        result = await cli(values, *args)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"error: {BANK} {waiting}: its party {party['id']} is not yet in Advoware; run "
            f"`bitbylaw sync beteiligte {party['id']}` first, then this command again"
        )
    assert espo.state.get(BANK, waiting)["syncStatus"] == "pending_sync" and advo.state.parties == {}

    espo.state.config.validate_iban = False  # EspoCRM refuses bad checksums itself (an import does not)
    bad = (await espo.create_as_user(BANK, {**ACCOUNT, "iban": "DE89370400440532013001"}))["id"]
    preview = await cli(values, "sync", "bankverbindungen", bad, "--dry-run")
    assert preview.returncode == 0 and preview.stdout.startswith(f"{bad}: dry_run (would be invalid: ")
    assert espo.state.get(BANK, bad)["syncStatus"] == "pending_sync"
    invalid = await cli(values, "sync", "bankverbindungen", bad)
    assert invalid.returncode == 0 and invalid.stdout.startswith(f"{bad}: invalid (")
    assert espo.state.get(BANK, bad)["syncStatus"] == "invalid"

    assert (await cli(values, "sync", "beteiligte", party["id"])).returncode == 0
    from engine.backends.embedded import EmbeddedBackend

    backend = EmbeddedBackend(tmp_path / "engine.db")
    await backend.connect()
    try:
        assert await backend.acquire_lock(f"beteiligte:{party['id']}", "owner-1", ttl=300)
        locked = await cli(values, "sync", "bankverbindungen", waiting)
        assert locked.returncode == 1
        assert locked.stderr.strip() == (
            f"error: {BANK} {waiting}: its party is being synced by another process (lock "
            f"beteiligte:{party['id']}); try again in a moment, or see `bitbylaw locks list`"
        )
    finally:
        await backend.close()
    betnr = espo.state.get("CBeteiligte", party["id"])["betnr"]
    assert advo.state.parties[betnr].bankverbindungen == []

    unknown = await cli(values, "sync", "bankverbindungen", "nope")
    assert unknown.returncode == 1 and unknown.stderr.strip() == f"error: {BANK} nope not found in EspoCRM"
