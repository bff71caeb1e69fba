"""The programmatic checks of general-capability items: one small function per check type.

An item's ``checks`` list holds mappings such as ``{"type": "max_words", "n": 20}``; each
type names a function here that takes the mapping and the output text and answers whether
the check holds. Add a check type by adding a function to :data:`ITEM_CHECKS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

ItemCheck = Callable[[dict[str, Any], str], bool]
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _values(check: dict[str, Any]) -> list[str]:
    return [str(v).lower() for v in check.get("values", [])]


def _number(check: dict[str, Any], text: str) -> bool:
    numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(text) if n.replace(",", "").strip("-")]
    return any(abs(n - float(check["value"])) <= 1e-6 for n in numbers)


def _case(lower: bool) -> ItemCheck:
    def holds(check: dict[str, Any], text: str) -> bool:
        letters = [c for c in text if c.isalpha()]
        return bool(letters) and all(c.islower() if lower else c.isupper() for c in letters)

    return holds


def _json_object(check: dict[str, Any], text: str) -> bool:
    try:
        value = json.loads(text.strip())
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and all(k in value for k in check.get("keys", []))


def _line_count(check: dict[str, Any], text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return check.get("min", 0) <= len(lines) <= check.get("max", 10**9)


ITEM_CHECKS: dict[str, ItemCheck] = {
    "contains_any": lambda c, t: any(v in t.lower() for v in _values(c)),
    "contains_all": lambda c, t: all(v in t.lower() for v in _values(c)),
    "not_contains": lambda c, t: not any(v in t.lower() for v in _values(c)),
    "number": _number,
    "regex": lambda c, t: re.search(c["pattern"], t, re.I) is not None,
    "max_words": lambda c, t: len(t.split()) <= c["n"],
    "min_words": lambda c, t: len(t.split()) >= c["n"],
    "lowercase": _case(lower=True),
    "uppercase": _case(lower=False),
    "no_commas": lambda c, t: "," not in t,
    "starts_with": lambda c, t: t.strip().lower().startswith(str(c["value"]).lower()),
    "ends_with": lambda c, t: t.strip().lower().endswith(str(c["value"]).lower()),
    "json_object": _json_object,
    "line_count": _line_count,
}
