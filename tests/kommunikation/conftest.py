"""The Kommunikation and address tests run the real party sync against both simulators over
HTTP (the fixtures of tests/beteiligte_service), plus in-memory state machines."""

from tests.beteiligte_service.conftest import (  # noqa: F401
    advoware_sim,
    clock,
    db,
    env,
    espocrm_sim,
    holder,
    sync_settings,
)
