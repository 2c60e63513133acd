"""The start-up warning about unsigned webhooks appears exactly when no secret is configured."""

from __future__ import annotations

import logging

import pytest

from cli import wiring
from config import Settings


@pytest.mark.parametrize(
    "secrets,warned",
    [
        ({}, True),
        ({"ESPOCRM_WEBHOOK_SECRET": "one-for-all"}, False),
        ({"ESPOCRM_WEBHOOK_SECRETS": '{"wh1": "s1"}'}, False),
    ],
)
def test_warning_only_without_a_secret(tmp_path, monkeypatch, caplog, secrets, warned):
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{tmp_path}/s.db")  # type: ignore[call-arg]
    with caplog.at_level(logging.WARNING, logger="bitbylaw"):
        wiring.warn_if_webhooks_unsigned(settings, wiring.load(settings))
    assert any("accepted unsigned" in r.getMessage() for r in caplog.records) is warned
