"""One ``lora.yaml`` value checked against its dataclass field's type and metadata.

Metadata keys: ``help`` (shown in every error), ``min``/``max`` (inclusive), ``above``
(exclusive minimum), ``choices``. Floats must be finite (YAML reads ``.nan``, ``.inf``);
an exponent without a dot (``1e-3``, a string to YAML 1.1) is read as the number it means.
"""

from __future__ import annotations

import math
from typing import Any

from harness.config.file import ConfigSource


def check_value(source: ConfigSource, key: str, value: Any, spec: Any) -> Any:
    """Check one value against its dataclass field (type, finiteness, choices, range); return it normalised.

    Raises:
        ConfigError: ``path:line`` of ``key``, what was expected (with the field's help) and what was given.
    """
    kind = spec.type if isinstance(spec.type, str) else getattr(spec.type, "__name__", str(spec.type))
    meta, shown = spec.metadata, kind.replace(" | None", "")
    if kind.startswith("float") and isinstance(value, str):
        value = _number(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
    ok = _type_ok(kind, value)
    if ok and kind.startswith("float"):
        value = float(value)
        ok = math.isfinite(value)
        shown = "a finite number"
    if not ok:
        raise source.error(key, f"{key} must be {shown} ({meta.get('help', '')}), got {value!r}")
    if "choices" in meta and value not in meta["choices"]:
        raise source.error(key, f"{key} must be one of {', '.join(meta['choices'])} ({meta['help']}), got {value!r}")
    _check_range(source, key, value, meta)
    return value


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _type_ok(kind: str, value: Any) -> bool:
    if kind.startswith("int"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind.startswith("float"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if value is None:
        return "None" in kind
    if kind.startswith("list"):
        listed = isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)
        return listed or (isinstance(value, str) and "| str" in kind)
    return isinstance(value, str)


def _check_range(source: ConfigSource, key: str, value: Any, meta: Any) -> None:
    if not isinstance(value, int | float):
        return
    low, above, high = meta.get("min"), meta.get("above"), meta.get("max")
    if above is not None and value <= above:
        raise source.error(key, f"{key} must be above {above} ({meta['help']}), got {value}")
    if low is not None and value < low or high is not None and value > high:
        bounds = f"between {low if low is not None else above} and {high if high is not None else '∞'}"
        raise source.error(key, f"{key} must be {bounds} ({meta['help']}), got {value}")
