"""Monitor speed: 100,000 log lines (a simulated week, suites/monitor/build_week.py) without embeddings.

Target: under 30 s on this machine. The log is built first (not timed), then ``run_monitor``
reads, windows (1d) and checks it, coverage and clustering included. (At this volume the
simulation's three recurring personal-data sentences, each in about 1% of traffic, are
themselves a drift that the monitor flags on every day: the figure here is speed.)

    python bench/monitor.py [--lines 100000]

Last line: ``ratio seconds/30 = X.XX`` (below 1 meets the target).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

from harness.monitor import MonitorOptions, run_monitor

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 30.0


def build_week(out: Path, lines: int) -> Path:
    spec = importlib.util.spec_from_file_location("build_week", ROOT / "suites/monitor/build_week.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    per_day = round(lines / 7 / 1.05)  # about 5% extra lines come from the shadow variant
    return module.build(out, per_day=per_day, days=7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logs = build_week(Path(tmp), args.lines)
        count = sum(1 for _ in logs.open())
        started = time.perf_counter()
        report = run_monitor(MonitorOptions(logs, Path(tmp) / "train.jsonl", Path(tmp) / "heldout.jsonl"))
        seconds = time.perf_counter() - started
    print(f"{count} log lines, {len(report.windows)} windows, drift in {[w.label for w in report.windows if w.drift]}")
    print(f"monitor: {seconds:.1f} s ({count / seconds:,.0f} lines/s), budget {BUDGET_S:.0f} s")
    print("floor: n/a (no model stage)")  # bench/floor.py: monitored without embeddings: no model
    print(f"ratio seconds/30 = {seconds / BUDGET_S:.2f}")


if __name__ == "__main__":
    main()
