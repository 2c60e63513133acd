"""Shared test settings: keep every test hermetic (no .env of the developer leaks in)."""

from __future__ import annotations

import os

os.environ.setdefault("BITBYLAW_TESTING", "1")
