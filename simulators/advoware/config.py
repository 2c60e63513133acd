"""Configuration of the Advoware simulator.

The defaults form a working sandbox: a client configured with the same values (app id, base64
key, firm, database, user, password) gets tokens without further set-up. Every value that models
an unconfirmed behaviour of the real Advoware (EXTERNAL_SYSTEMS.md, open points) is a field here,
so a corrected assumption is a configuration change, not a code change.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

KommKzZeroMode = Literal["api_created", "never", "always"]

# Open point 4: the 8 of 14 party fields that Advoware keeps; everything else is dropped (A7).
DEFAULT_PARTY_FIELDS: tuple[str, ...] = (
    "name",
    "vorname",
    "rechtsform",
    "anrede",
    "titel",
    "geburtsdatum",
    "handelsRegisterNummer",
    "registergericht",
)

# Open point 5 / table 1.5.3: all 11 address fields accepted by POST ...
DEFAULT_ADDRESS_FIELDS: tuple[str, ...] = (
    "strasse",
    "plz",
    "ort",
    "anschrift",
    "land",
    "postfach",
    "postfachPlz",
    "standardAnschrift",
    "gueltigVon",
    "gueltigBis",
    "bemerkung",
)
# ... and the 4 "main address fields" a PUT changes (A12).
DEFAULT_ADDRESS_WRITABLE: tuple[str, ...] = ("strasse", "plz", "ort", "anschrift")


def _default_key() -> str:
    return base64.b64encode(b"sandbox-advoware-key-please-change").decode("ascii")


@dataclass
class AdvowareSimConfig:
    # -- token flow (EXTERNAL_SYSTEMS 1.2) ---------------------------------------------------
    app_id: str = "bitbylaw"
    api_key_b64: str = field(default_factory=_default_key)
    kanzlei: str = "SANDBOX"
    database: str = "sandbox"
    user: str = "API"
    password: str = "sandbox"
    product: int = 64
    role: int = 2
    token_lifetime_s: float = 3300.0
    # How far `RequestTimeStamp` may be from the simulator's clock (either direction).
    clock_skew_s: float = 300.0

    # -- modelled quirks ---------------------------------------------------------------------
    kommkz_zero_mode: KommKzZeroMode = "api_created"
    party_fields: tuple[str, ...] = DEFAULT_PARTY_FIELDS
    address_fields: tuple[str, ...] = DEFAULT_ADDRESS_FIELDS
    address_writable_fields: tuple[str, ...] = DEFAULT_ADDRESS_WRITABLE

    # -- persistence and time ----------------------------------------------------------------
    # When set, state is loaded from this JSON file at start and written back on shutdown and
    # on `POST /_admin/snapshot`.
    snapshot_path: Path | None = None
    # Epoch seconds; injectable so tests can move time (token expiry, timestamp skew).
    clock: Callable[[], float] = time.time
