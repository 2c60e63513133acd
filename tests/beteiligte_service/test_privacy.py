"""No personal data in log lines or error texts (DECISIONS 17): ids, field names, counts only."""

from __future__ import annotations

import logging

import pytest

from tests.beteiligte_service.conftest import ENTITY, Env

SECRETS = ("Mustermann", "Max", "1980-05-17", "Herr", "Musterfrau", "Frau", "Divers")


async def test_sync_logs_and_audit_errors_hold_no_personal_data(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pid = await env.new_person()
    await env.handle(pid, "create")
    betnr = (await env.record(pid))["betnr"]
    await env.espo_sim.update_as_user(ENTITY, pid, {"lastName": "Musterfrau", "anrede": "Frau"})
    await env.advo_put(betnr, {"anrede": "Divers"})
    await env.handle(pid, "update")  # conflict
    await env.faults("advoware", {"rules": [{"method": "GET", "route": "*/Beteiligte/*", "status": 500}]})
    env.clock.advance(days=2)
    await env.handle(pid)  # failure
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert pid in text and "conflicts: 1" in text
    for secret in SECRETS:
        assert secret not in text, secret
    for entry in await env.service.audit(pid):
        for secret in SECRETS:
            assert secret not in str(entry.decision) and secret not in (entry.error or "")
    for note in await env.notifications():
        assert "Musterfrau" not in note["message"] and "Divers" not in note["message"]
