"""Time windows: ``30m``, ``6h``, ``1d``, ``1w`` or ``all``, aligned to multiples of their width (UTC).

Alignment is to the Unix epoch: days start at 00:00 UTC, and ``1w`` windows start on
Thursdays (1970-01-01 was one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from harness.errors import InputError
from harness.monitor.records import LogRecord

_SPEC = re.compile(r"^(\d+)([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Window(NamedTuple):
    """A group of log records."""

    label: str
    records: list[LogRecord]


def window_seconds(spec: str) -> int | None:
    """The width of a window spec in seconds; None for ``all``.

    Raises:
        InputError: the spec is not ``N`` followed by m, h, d or w, or ``all``.
    """
    if spec == "all":
        return None
    match = _SPEC.match(spec)
    if not match or int(match.group(1)) == 0:
        raise InputError(f"--window {spec!r}: write a count and a unit, e.g. 30m, 6h, 1d, 1w, or 'all'", code="bad-window")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def split_windows(records: Sequence[LogRecord], spec: str) -> list[Window]:
    """Group records into time windows, oldest first.

    Records without a timestamp go to one window ``undated`` (all of them to ``all`` when no
    record has a timestamp or the spec is ``all``).
    """
    width = window_seconds(spec)
    if width is None or all(r.timestamp is None for r in records):
        return [Window("all", list(records))]
    groups: dict[int, list[LogRecord]] = {}
    undated: list[LogRecord] = []
    for record in records:
        if record.timestamp is None:
            undated.append(record)
        else:
            groups.setdefault(int(record.timestamp // width), []).append(record)
    windows = [Window(_label(key * width, width), groups[key]) for key in sorted(groups)]
    return windows + ([Window("undated", undated)] if undated else [])


def _label(start: float, width: int) -> str:
    moment = datetime.fromtimestamp(start, tz=UTC)
    if width % 86400 == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%MZ")
