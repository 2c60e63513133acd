"""A faithful fake of the Advoware REST API (parties, Kommunikation, addresses, bank accounts,
employees, appointments, token gateway) with in-memory state; see docs/simulators/advoware.md."""

from simulators.advoware.app import build_advoware_app
from simulators.advoware.config import AdvowareSimConfig

__all__ = ["AdvowareSimConfig", "build_advoware_app"]
