"""Sync outcomes of the last 24 hours as numbers and a small stacked bar chart drawn on the
server (SVG rectangles; the template writes them out, the style sheet colours them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.db import OutcomeCount
from services.operator_views import OutcomeKind, outcome_kind

HOURS = 24
KINDS: tuple[OutcomeKind, ...] = ("ok", "attention", "failed", "other")
BAR_WIDTH, BAR_GAP, HEIGHT = 12, 2, 60


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    kind: OutcomeKind
    title: str  # the tooltip: hour and count


@dataclass
class EntityOutcomes:
    entity: str
    last_hour: dict[str, int] = field(default_factory=dict)  # result → count
    last_day: dict[str, int] = field(default_factory=dict)
    bars: list[Bar] = field(default_factory=list)
    peak: int = 0

    @property
    def results(self) -> list[tuple[str, OutcomeKind, int, int]]:
        """(result, kind, last hour, last day), the most frequent first."""
        ordered = sorted(self.last_day, key=lambda r: (-self.last_day[r], r))
        return [(r, outcome_kind(r), self.last_hour.get(r, 0), self.last_day[r]) for r in ordered]


WIDTH = HOURS * (BAR_WIDTH + BAR_GAP)


def outcomes(
    day: Sequence[OutcomeCount], hour: Sequence[OutcomeCount], now: datetime, hide: Sequence[str] = ()
) -> list[EntityOutcomes]:
    """Per entity: counts per result in the last hour and day, and one bar per hour of the day
    stacked by kind (ok, attention, failed, other) on one scale for all entities."""
    per: dict[str, EntityOutcomes] = {}
    stacks: dict[str, dict[datetime, dict[OutcomeKind, int]]] = defaultdict(lambda: defaultdict(dict))
    for c in day:
        if c.entity_type in hide:
            continue
        e = per.setdefault(c.entity_type, EntityOutcomes(c.entity_type))
        e.last_day[c.result] = e.last_day.get(c.result, 0) + c.count
        kinds = stacks[c.entity_type][c.hour]
        kinds[outcome_kind(c.result)] = kinds.get(outcome_kind(c.result), 0) + c.count
    for c in hour:
        if c.entity_type in per:
            e = per[c.entity_type]
            e.last_hour[c.result] = e.last_hour.get(c.result, 0) + c.count
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    peak = max((sum(k.values()) for s in stacks.values() for k in s.values()), default=0)
    for name, e in per.items():
        e.peak = peak
        e.bars = _bars(stacks[name], first, peak)
    return sorted(per.values(), key=lambda e: e.entity)


def _bars(stack: dict[datetime, dict[OutcomeKind, int]], first: datetime, peak: int) -> list[Bar]:
    bars = []
    for i in range(HOURS):
        start = first + timedelta(hours=i)
        y = float(HEIGHT)
        for kind in KINDS:
            n = stack.get(start, {}).get(kind, 0)
            if not n:
                continue
            height = HEIGHT * n / peak
            y -= height
            label = f"{start:%H}:00 UTC: {n} {kind}"
            bars.append(Bar(i * (BAR_WIDTH + BAR_GAP), round(y, 2), round(height, 2), kind, label))
    return bars
