"""`where` filters of the list endpoint (2.2), compiled once into a predicate over records.

Accepted both as PHP-style nested query parameters (`where[0][type]=equals&…`) and as the JSON
`searchParams` parameter. Values arrive as strings from a query string, so each comparison
coerces the filter value to the attribute's type (`betnr=104860` matches the int 104860).
Datetime strings compare as text, which orders correctly for `YYYY-MM-DD HH:MM:SS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .entities import EntityDef
from .errors import ApiError

Predicate = Callable[[dict[str, Any]], bool]
_KEY_RE = re.compile(r"\[([^\]]*)\]")


def parse_nested(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP's parsing of `a[0][b]=x&a[0][c][]=y` into nested dicts/lists."""
    root: dict[str, Any] = {}
    for key, value in items:
        head, _, rest = key.partition("[")
        path = [head, *_KEY_RE.findall("[" + rest)] if rest else [head]
        node: dict[str, Any] = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return {k: _listify(v) for k, v in root.items()}


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def compile_where(defn: EntityDef, where: Any) -> Predicate:
    """All items must hold (EspoCRM ANDs the top-level list)."""
    if where in (None, "", []):
        return lambda _record: True
    if isinstance(where, dict):
        where = list(where.values())
    if not isinstance(where, list):
        raise ApiError(400, "where must be a list")
    predicates = [_compile_item(defn, item) for item in where]
    return lambda record: all(p(record) for p in predicates)


def _compile_item(defn: EntityDef, item: Any) -> Predicate:
    if not isinstance(item, dict) or "type" not in item:
        raise ApiError(400, "where item needs a type")
    kind = item["type"]
    if kind in ("or", "and"):
        value = item.get("value") or []
        subs = [_compile_item(defn, sub) for sub in (value.values() if isinstance(value, dict) else value)]
        combine = any if kind == "or" else all
        return lambda record: combine(p(record) for p in subs)
    attribute = item.get("attribute")
    if not isinstance(attribute, str) or defn.type_of(attribute) is None:
        raise ApiError(400, f"unknown attribute in where: {attribute!r}")
    build = _BUILDERS.get(kind)
    if build is None:
        raise ApiError(400, f"unsupported where type: {kind!r}")
    return build(attribute, _coerce_value(defn, attribute, item.get("value")))


def _coerce_value(defn: EntityDef, attribute: str, value: Any) -> Any:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [_coerce_scalar(defn, attribute, v) for v in value]
    return _coerce_scalar(defn, attribute, value)


def _coerce_scalar(defn: EntityDef, attribute: str, value: Any) -> Any:
    kind = defn.type_of(attribute)
    if not isinstance(value, str):
        return value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "bool":
        return value.lower() in ("1", "true")
    return value


def _as_list(value: Any) -> list[Any]:
    # An empty list cannot be sent as nested query parameters: it arrives as no value at all.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[str, Any], Predicate]:
    def build(attribute: str, value: Any) -> Predicate:
        def check(record: dict[str, Any]) -> bool:
            current = record.get(attribute)
            if current is None or value is None:
                return False
            try:
                return op(current, value)
            except TypeError:
                return op(str(current), str(value))

        return check

    return build


def _equals(attribute: str, value: Any) -> Predicate:
    return lambda record: record.get(attribute) == value


def _not_equals(attribute: str, value: Any) -> Predicate:
    # SQL semantics: NULL != 'x' is not true, so null values never match notEquals.
    return lambda record: record.get(attribute) is not None and record.get(attribute) != value


def _in(attribute: str, value: Any) -> Predicate:
    allowed = set(_as_list(value))
    return lambda record: record.get(attribute) in allowed


def _not_in(attribute: str, value: Any) -> Predicate:
    banned = set(_as_list(value))
    return lambda record: record.get(attribute) is not None and record.get(attribute) not in banned


def _is_null(attribute: str, _value: Any) -> Predicate:
    return lambda record: record.get(attribute) is None


def _is_not_null(attribute: str, _value: Any) -> Predicate:
    return lambda record: record.get(attribute) is not None


def _is_true(attribute: str, _value: Any) -> Predicate:
    return lambda record: record.get(attribute) is True


def _is_false(attribute: str, _value: Any) -> Predicate:
    return lambda record: record.get(attribute) is not True


def _text(test: Callable[[str, str], bool]) -> Callable[[str, Any], Predicate]:
    def build(attribute: str, value: Any) -> Predicate:
        needle = str(value).lower()
        return lambda record: (
            isinstance(record.get(attribute), str) and test(record[attribute].lower(), needle)
        )

    return build


_BUILDERS: dict[str, Callable[[str, Any], Predicate]] = {
    "equals": _equals,
    "notEquals": _not_equals,
    "in": _in,
    "notIn": _not_in,
    "isNull": _is_null,
    "isNotNull": _is_not_null,
    "isTrue": _is_true,
    "isFalse": _is_false,
    "before": _ordered(lambda a, b: a < b),
    "after": _ordered(lambda a, b: a > b),
    "lessThan": _ordered(lambda a, b: a < b),
    "greaterThan": _ordered(lambda a, b: a > b),
    "lessThanOrEquals": _ordered(lambda a, b: a <= b),
    "greaterThanOrEquals": _ordered(lambda a, b: a >= b),
    "startsWith": _text(lambda text, needle: text.startswith(needle)),
    "contains": _text(lambda text, needle: needle in text),
}
