"""The warning about unsigned webhooks (logged by `bitbylaw run`, shown by `check` and
`settings show`) appears exactly when no secret is configured."""

from __future__ import annotations

import pytest

from config import Settings, settings_warnings


@pytest.mark.parametrize(
    "secrets,warned",
    [
        ({}, True),
        ({"ESPOCRM_WEBHOOK_SECRET": "one-for-all"}, False),
        ({"ESPOCRM_WEBHOOK_SECRETS": '{"wh1": "s1"}'}, False),
    ],
)
def test_warning_only_without_a_secret(tmp_path, monkeypatch, secrets, warned):
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{tmp_path}/s.db")  # type: ignore[call-arg]
    assert any("accepted unsigned" in w for w in settings_warnings(settings)) is warned
