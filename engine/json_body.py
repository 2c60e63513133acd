"""Bounded JSON for request bodies: UTF-8 only, a maximum nesting depth and number
literal length, `NaN`/`Infinity` (and floats that overflow to them) refused.

The stdlib parser runs first, at C speed; the depth and number checks run only on text it
accepted, and only when the body could break a limit at all (more opening brackets than the
depth limit, more bytes than the number limit). Checking valid JSON keeps the string-stripping
regex linear; on arbitrary bytes it could be made to backtrack quadratically.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any


class JsonRefused(ValueError):
    """The body is not acceptable JSON; `code` and `detail` go to the caller as they are."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def _refuse_constant(name: str) -> Any:
    raise JsonRefused("invalid_json", f"{name} is not JSON (NaN and Infinity are refused)")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise JsonRefused("invalid_json", "a number is too large for a float (would be Infinity)")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")
_NUMBER_CHARS = r"[-+.eE0-9]"


class BoundedJson:
    def __init__(self, max_depth: int = 64, max_number_length: int = 100) -> None:
        self.max_depth = max_depth
        self.max_number_length = max_number_length
        self._long_number = re.compile(f"{_NUMBER_CHARS}{{{max_number_length + 1},}}")

    def loads(self, raw: bytes) -> Any:
        """The parsed value, or JsonRefused saying what is wrong."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRefused("invalid_json", f"body is not UTF-8 (byte {exc.start})") from None
        try:
            value = _DECODER.decode(text)
        except json.JSONDecodeError as exc:
            raise JsonRefused("invalid_json", f"body is not valid JSON: {exc.msg} at {exc.pos}") from None
        except RecursionError:
            raise self._too_deep() from None
        except JsonRefused:
            raise
        except ValueError:  # int() refuses literals over sys.get_int_max_str_digits()
            raise self._too_long() from None
        self._check_limits(text)
        return value

    def _check_limits(self, text: str) -> None:
        deep = text.count("[") + text.count("{") > self.max_depth
        long = len(text) > self.max_number_length and self._long_number.search(text) is not None
        if not (deep or long):
            return
        skeleton = _STRING.sub('""', text)  # brackets and digits inside strings do not count
        if long and self._long_number.search(skeleton):
            raise self._too_long()
        if deep and self._depth_exceeds(_NOT_BRACKETS.sub("", skeleton)):
            raise self._too_deep()

    def _depth_exceeds(self, brackets: str) -> bool:
        # Each pass removes the innermost pairs, i.e. one level; valid JSON is balanced.
        for _ in range(self.max_depth):
            brackets = _EMPTY_PAIR.sub("", brackets)
            if not brackets:
                return False
        return True

    def _too_deep(self) -> JsonRefused:
        return JsonRefused("json_too_deep", f"JSON nested deeper than {self.max_depth} levels")

    def _too_long(self) -> JsonRefused:
        return JsonRefused(
            "number_too_long", f"a JSON number is longer than {self.max_number_length} characters"
        )
