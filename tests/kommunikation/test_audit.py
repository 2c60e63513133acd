"""The audit trail of a party run shows its entry and address decisions — variants, cases,
actions, and what each write sent under `changes` — with the values masked as for the party's
fields (DECISIONS 17), against both simulators."""

from __future__ import annotations

import pytest

from services.db.masking import MASK
from tests.beteiligte_service.conftest import Env
from tests.kommunikation.helpers import Party, email, phone

pytestmark = pytest.mark.timeout(60)
VALUES = ("neu@example.org", "+49 221 555", "Ring 5", "Bonn")


async def test_entry_and_address_decisions_are_audited_with_values_masked(env: Env) -> None:
    p = await Party.synced(env, [email("max@example.org", True)], [phone("+49 221 1", "Office", True)])
    await p.set_sets(emails=[email("max@example.org", True), email("neu@example.org")])
    p.add_entry("+49 221 555", 3)  # a desktop user's new mobile number
    await env.espo_sim.create_as_user("CAdressen", {"beteiligteId": p.pid, "strasse": "Ring 5", "plz": "53111",
                                                    "ort": "Bonn"})  # fmt: skip
    assert (await p.sync()).status == "synced"

    decision = (await env.service.audit(p.pid))[0].decision
    komm, adressen = decision["kommunikation"], decision["adressen"]
    assert komm["variants"] == {"var1": 1, "var4": 1}  # new in EspoCRM, new in Advoware
    assert "Kommunikation: POST new entry (kind 4)" in komm["actions"]
    assert adressen["cases"][0].startswith("new_in_espocrm:")
    assert adressen["actions"][0].startswith("Adressen: Advoware POST for EspoCRM address")
    # which writes sent which fields stays visible; every value is masked
    posted = next(body for key, body in komm["changes"].items() if key.startswith("komm.post."))
    assert posted["tlf"] == MASK and posted["kommKz"] == MASK
    assert komm["changes"]["espocrm.phoneNumberData"][1]["phoneNumber"] == MASK
    assert any(body.get("strasse") == MASK for body in adressen["changes"].values())
    for value in VALUES:
        assert value not in str(decision), value
