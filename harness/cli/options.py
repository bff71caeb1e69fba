"""Options several verbs share, declared once, and the one way a verb prints ``--format json``.

* :func:`add_cache_options`: ``--no-cache`` (and, where the verb can regenerate, ``--refresh``)
  into ``args.cache_mode`` (``use``, ``refresh`` or ``off``, as :class:`~harness.eval.runner.EvalOptions` takes it).
* :func:`add_format_option`: ``--format text|json`` into ``args.format``.
* :func:`add_config_option`: ``--config`` (an eval config, default ``harness.yaml``) into ``args.config``.
* :func:`print_json`: one JSON document on stdout, built from the records the verb already has
  (dataclasses become objects, paths strings, pandas frames lists of rows).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any


def add_cache_options(parser: argparse.ArgumentParser, *, refresh: bool = True) -> None:
    """``--no-cache`` and, with ``refresh``, ``--refresh`` (mutually exclusive), into ``args.cache_mode``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--no-cache", dest="cache_mode", action="store_const", const="off", default="use",
                       help="neither read nor write the generation cache")
    if refresh:
        group.add_argument("--refresh", dest="cache_mode", action="store_const", const="refresh",
                           help="regenerate everything and overwrite the cache")


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """``--format text|json`` (default text); json prints one JSON document on stdout."""
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: text; json: one JSON document on stdout)")


def add_config_option(parser: argparse.ArgumentParser, help: str = "eval config (default: ./harness.yaml)") -> None:
    """``--config`` (default ``harness.yaml``) into ``args.config``."""
    parser.add_argument("--config", default="harness.yaml", help=help)


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the verb was asked for ``--format json``."""
    return getattr(args, "format", "text") == "json"


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses (or ``to_dict()``) as objects, paths as strings, NaN as null."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "to_dict") and not isinstance(value, type) and not _is_frame(value):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if _is_frame(value):  # a pandas DataFrame: its rows, the index as the first column
        frame = value.reset_index()
        return [jsonable(row) for row in frame.to_dict(orient="records")]
    if hasattr(value, "item"):  # a numpy scalar
        return jsonable(value.item())
    return str(value)


def _is_frame(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "reset_index")


def print_json(data: Any) -> None:
    """Print ``data`` as one indented JSON document on stdout."""
    print(json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False))
