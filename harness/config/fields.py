"""Config sections as dataclasses whose fields carry their own rules (peft's habit): the one engine
that checks every section of ``harness.yaml`` and ``lora.yaml`` when the file loads.

Each field's ``metadata`` says what a value must be, and :func:`parse_section` checks a
parsed YAML mapping against it with ``path:line`` errors::

    @dataclass(frozen=True)
    class GeneralSection:
        items: str | None = field(default=None, metadata={"help": "general items JSONL", "path": True})
        tolerance: float = field(default=0.05, metadata={"help": "allowed drop", "min": 0, "max": 1})

Metadata keys: ``help`` (what it is, shown in errors), ``min``/``max`` (inclusive bounds),
``above`` (exclusive lower bound), ``choices``, ``path`` (resolved against the config's
folder; ``builtin:<name>`` is a file shipped with the package), ``section`` (a nested
dataclass), ``required`` (the key must be given even though the field has a default; a field
without a default is required anyway), ``nonempty`` (a list must hold at least one item),
``parse`` (a function ``(source, key, value) -> value`` that checks and converts the value
itself) and ``internal`` (set by the loader, not a key of the file).

The number rule, the same in both files: an ``int`` is an integer; a ``float`` is an integer or
a decimal number, or a string that is a plain number — YAML 1.1 reads ``1e-3`` (an exponent
without a dot) as the string ``"1e-3"``, which is taken as the number it means. Every number
must be finite (``.nan``, ``.inf``, ``"nan"`` are refused) and booleans are not numbers.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, TypeVar

from harness.config.file import ConfigSource, check_keys, relative_path
from harness.errors import ConfigError

T = TypeVar("T")

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
"""A number as written in a config: digits, an optional point and an optional exponent (no ``_``, ``nan``, ``inf``)."""


def parse_section(source: ConfigSource, section: str, value: Any, cls: type[T], **internal: Any) -> T:
    """Check ``value`` (a mapping from the file) against the dataclass ``cls`` and build it.

    Args:
        source: the parsed file (for lines).
        section: dotted name of the mapping (``""`` for the top level).
        value: the mapping as parsed (None: every field at its default).
        cls: the section's dataclass.
        internal: values of the ``internal`` fields (not keys of the file), e.g. a variant's ``name``.

    Raises:
        ConfigError: an unknown or missing key, or a value of the wrong type or range, at its line.
    """
    specs = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}  # type: ignore[arg-type]
    required = [name for name, spec in specs.items() if is_required(spec)]
    mapping = check_keys(source, section, value if value is not None else {}, list(specs), required)
    prefix = f"{section}." if section else ""
    return cls(**{key: parse_value(source, prefix + key, raw, specs[key]) for key, raw in mapping.items()}, **internal)


def is_required(spec: dataclasses.Field) -> bool:
    """Whether the file must give the field: no default, or ``required`` in its metadata."""
    no_default = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
    return bool(spec.metadata.get("required")) or no_default


def parse_value(source: ConfigSource, key: str, value: Any, spec: dataclasses.Field) -> Any:
    """One field's value, checked against its annotation and metadata; returned normalised.

    Raises:
        ConfigError: ``path:line`` of ``key``, what was expected (with the field's help) and what was given.
    """
    meta = spec.metadata
    if "section" in meta:
        return parse_section(source, key, value, meta["section"])
    if "parse" in meta:
        return meta["parse"](source, key, value)
    kind = spec.type if isinstance(spec.type, str) else getattr(spec.type, "__name__", str(spec.type))
    if value is None and "None" in kind:
        return None
    value = _typed(source, key, value, kind, meta)
    _check_range(source, key, value, meta)
    if meta.get("path") and value is not None:
        try:
            return relative_path(source.path, value)
        except ConfigError as exc:  # an unknown builtin: name: point at the key's line
            error = source.error(key, f"{key}: {exc.message}")
            error.code = exc.code
            raise error from exc
    return value


def number(value: Any) -> float | None:
    """``value`` as a finite float under the config number rule (see the module doc), or None if it is not one."""
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _typed(source: ConfigSource, key: str, value: Any, kind: str, meta: Any) -> Any:
    base = kind.replace(" | None", "")
    if base == "bool":
        ok = isinstance(value, bool)
    elif base == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base == "float":
        converted = number(value)
        ok, value = converted is not None, value if converted is None else converted
    elif base.startswith(("tuple[str", "list[str")):
        listed = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        ok = (listed and (bool(value) or not meta.get("nonempty"))) or ("| str" in base and isinstance(value, str)
                                                                      and bool(value))
        value = tuple(value) if ok and listed and base.startswith("tuple") else value
    elif base.startswith("dict[str, float]"):
        numbers = {str(k): number(v) for k, v in value.items()} if isinstance(value, dict) else {"": None}
        ok = all(v is not None for v in numbers.values())
        value = numbers if ok else value
    else:
        ok = isinstance(value, str) and bool(value)
    if not ok:
        finite = " (a finite number)" if "float" in base else ""
        empty = " (at least one)" if meta.get("nonempty") and value == [] else ""
        help_text = f" ({meta['help']})" if meta.get("help") else ""
        raise source.error(key, f"{key} must be {base}{finite}{empty}{help_text}, got {value!r}")
    return value


def _check_range(source: ConfigSource, key: str, value: Any, meta: Any) -> None:
    help_text = f" ({meta['help']})" if meta.get("help") else ""
    if "choices" in meta and value not in meta["choices"]:
        raise source.error(key, f"{key} must be one of {', '.join(map(str, meta['choices']))}{help_text}, got {value!r}")
    low, high, above = meta.get("min"), meta.get("max"), meta.get("above")
    if isinstance(value, int | float) and not isinstance(value, bool) and (
            low is not None and value < low or high is not None and value > high or above is not None and value <= above):
        bounds = f"> {above}" if above is not None else f">= {low}" if low is not None else ""
        bounds += (" and " if bounds else "") + f"<= {high}" if high is not None else ""
        raise source.error(key, f"{key} must be {bounds}{help_text}, got {value}")
