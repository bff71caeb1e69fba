"""Config sections as dataclasses whose fields carry their own rules (peft's habit).

Each field's ``metadata`` says what a value must be, and :func:`parse_section` checks a
parsed YAML mapping against it with ``path:line`` errors::

    @dataclass(frozen=True)
    class GeneralSection:
        items: str | None = field(default=None, metadata={"help": "general items JSONL", "path": True})
        tolerance: float = field(default=0.05, metadata={"help": "allowed drop", "min": 0, "max": 1})

Metadata keys: ``help`` (what it is, shown in errors), ``min``/``max`` (inclusive bounds),
``above`` (exclusive lower bound), ``choices``, ``path`` (resolved against the config's
folder; ``builtin:<name>`` is a file shipped with the package), ``section`` (a nested
dataclass). Numbers must be finite; booleans are not numbers.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

from harness.config.file import ConfigSource, check_keys, relative_path
from harness.errors import ConfigError

T = TypeVar("T")


def parse_section(source: ConfigSource, section: str, value: Any, cls: type[T], required: tuple[str, ...] = ()) -> T:
    """Check ``value`` (a mapping from the file) against the dataclass ``cls`` and build it.

    Raises:
        ConfigError: an unknown or missing key, or a value of the wrong type or range, at its line.
    """
    specs = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    mapping = check_keys(source, section, value if value is not None else {}, list(specs), list(required))
    prefix = f"{section}." if section else ""
    return cls(**{key: parse_value(source, prefix + key, raw, specs[key]) for key, raw in mapping.items()})


def parse_value(source: ConfigSource, key: str, value: Any, spec: dataclasses.Field) -> Any:
    """One field's value, checked against its annotation and metadata."""
    meta = spec.metadata
    if "section" in meta:
        return parse_section(source, key, value, meta["section"])
    kind = str(spec.type)
    if value is None and "None" in kind:
        return None
    value = _typed(source, key, value, kind, meta.get("help", ""))
    _check_range(source, key, value, meta)
    if meta.get("path") and value is not None:
        try:
            return relative_path(source.path, value)
        except ConfigError as exc:  # an unknown builtin: name: point at the key's line
            error = source.error(key, f"{key}: {exc.message}")
            error.code = exc.code
            raise error from exc
    return value


def _typed(source: ConfigSource, key: str, value: Any, kind: str, help_text: str) -> Any:
    base = kind.replace(" | None", "")
    if base == "bool":
        ok = isinstance(value, bool)
    elif base == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    elif base.startswith(("tuple[str", "list[str")):
        ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        value = tuple(value) if ok and base.startswith("tuple") else value
    elif base.startswith("dict[str, float]"):
        ok = isinstance(value, dict) and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                                             for v in value.values())
        value = {str(k): float(v) for k, v in value.items()} if ok else value
    else:
        ok = isinstance(value, str) and bool(value)
    if not ok:
        finite = " (a finite number)" if "float" in base else ""
        raise source.error(key, f"{key} must be {base}{finite}{f' ({help_text})' if help_text else ''}, got {value!r}")
    return value


def _check_range(source: ConfigSource, key: str, value: Any, meta: Any) -> None:
    help_text = f" ({meta['help']})" if meta.get("help") else ""
    if "choices" in meta and value not in meta["choices"]:
        raise source.error(key, f"{key} must be one of {', '.join(map(str, meta['choices']))}{help_text}, got {value!r}")
    low, high, above = meta.get("min"), meta.get("max"), meta.get("above")
    if isinstance(value, int | float) and (low is not None and value < low or high is not None and value > high
                                           or above is not None and value <= above):
        bounds = f"> {above}" if above is not None else f">= {low}"
        bounds += f" and <= {high}" if high is not None else ""
        raise source.error(key, f"{key} must be {bounds}{help_text}, got {value}")
