"""Common base of the repository stores: the driver, the clock and the audit masking flag."""

from __future__ import annotations

from datetime import datetime

from .clock import Clock, require_utc
from .driver import Driver


class StoreBase:
    """Attributes every store mixin relies on; set by `Database.__init__`."""

    _driver: Driver
    clock: Clock
    show_values: bool

    def _now(self) -> datetime:
        return require_utc(self.clock(), "clock()")

    @property
    def driver(self) -> Driver:
        return self._driver
