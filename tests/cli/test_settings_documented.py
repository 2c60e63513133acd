"""Every setting is documented in .env.example (the file `bitbylaw settings template` prints), and
the example names no setting that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_the_example_and_nothing_else():
    example = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    settings = {str(info.alias) for info in Settings.model_fields.values()}
    assert sorted(settings - example) == [] and sorted(example - settings) == []
