"""`decide(observed, facts)`: one employee's run, decided (pure).

Mapped appointments first (`rules.decide_mapped`), what no mapping knows yet (`newcomers.py`),
then the safety brake over all plans (`brake.py`). The service runs the plans one by one — unless
the brake is set, then nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.calendar.brake import Brake, check_brake
from services.calendar.newcomers import decide_newcomers
from services.calendar.plans import Plan
from services.calendar.rules import Facts, decide_mapped
from services.calendar.view import Observed, View, with_landed_links
from services.sync.actions import Notify


@dataclass(frozen=True)
class Decision:
    plans: tuple[Plan, ...]
    brake: Brake | None = None  # set: nothing is applied
    unmatched: tuple[str, ...] = ()  # Google events waiting for `calendar adopt --apply`
    notices: tuple[Notify, ...] = ()  # about the calendar as a whole (adoption pending)

    def count(self, kind: str) -> int:
        return sum(p.kind == kind for p in self.plans)


def decide(observed: Observed, facts: Facts) -> Decision:
    observed = with_landed_links(observed)
    view = View.build(facts.kuerzel, observed, facts.window)
    new = decide_newcomers(view, facts)
    plans: list[Plan] = []
    for mapping in observed.mappings:
        if mapping.id not in new.settled:
            plan = decide_mapped(view, mapping, facts)
            if plan is not None:
                plans.append(plan)
    plans += new.plans
    live = [e for e in observed.events if e.get("status") != "cancelled"]
    brake = check_brake(
        plans,
        len(observed.unconfirmed),
        len(observed.mappings),
        first_fill=not observed.mappings and observed.full and not live,
        allowed=facts.allow_mass_changes,
        max_events=facts.max_events,
        max_percent=facts.max_percent,
    )
    return Decision(tuple(plans), brake, tuple(new.unmatched), tuple(new.notices))
