"""Route templates: the unit of counting, logging and path building.

Each system keeps ONE table of its routes (`advoware_paths.py`, `espocrm_paths.py`,
`google_paths.py`) so a wrong path is corrected in one place. Metrics and logs always use the
template (`api/v1/advonet/Beteiligte/{betnr}`), never the concrete path, which may carry ids.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    template: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _PLACEHOLDER.split(self.template)
        # split() alternates literal text and placeholder names.
        pattern = "".join(re.escape(p) if i % 2 == 0 else "[^/]+" for i, p in enumerate(parts))
        object.__setattr__(self, "_regex", re.compile(pattern + r"/?"))

    def path(self, **params: object) -> str:
        """The concrete path; every value is percent-encoded as one segment (`@` → `%40`)."""

        def value(match: re.Match[str]) -> str:
            return quote(str(params[match.group(1)]), safe="")

        return _PLACEHOLDER.sub(value, self.template)

    def partial(self, **params: str) -> Route:
        """A narrower template with some placeholders filled, e.g. EspoCRM's entity name, which
        is worth keeping in metric labels (bounded, not personal)."""
        return _partial(self, tuple(sorted(params.items())))

    def matches(self, path: str) -> bool:
        return self._regex.fullmatch(path.strip("/")) is not None


@functools.lru_cache(maxsize=256)
def _partial(route: Route, params: tuple[tuple[str, str], ...]) -> Route:
    """Cached: a client call narrows its route every time, and the results are few."""
    filled = dict(params)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return quote(str(filled[name]), safe="") if name in filled else match.group(0)

    return Route(_PLACEHOLDER.sub(value, route.template))


def template_for(path: str, routes: Iterable[Route], fallback: str) -> str:
    """The template of a known route matching a concrete path, else `fallback` (raw proxy
    calls must not put arbitrary paths into metric labels)."""
    for route in routes:
        if route.matches(path):
            return route.template
    return fallback


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")
