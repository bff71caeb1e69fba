"""Report speed: ``harness report`` over 1,000 runs × 3 variants × 6 metrics × 150 cases.

The history store is synthesised once (nightly runs of one task with drifting scores, a new
adapter every 50 nights, a data change at night 500, one real-looking case output per case
and variant) and kept under ``--work`` for reruns; only ``harness report`` is timed, as a
fresh process (imports included), writing the page to a temporary folder.

The ratio uses the process's CPU time (user + system; it is single-threaded and reads a
store the page cache holds, so on an idle machine wall time is about the same). The wall
time is printed beside it with the load average: on a machine shared by several jobs it
measures the queue for a core, not the report.

    python bench/report.py [--runs 1000] [--work .harness/bench-report]

Last line: ``ratio seconds/budget = X.XX`` against the 10 s budget (target <= 1.0).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.history import connect
from harness.history.aggregate import run_metrics
from harness.history.readers import read_run, run_cases_outputs
from harness.history.store import write_run
from harness.records import CaseResult, Generation, Score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as `python bench/report.py`: the synthetic runs live in tests/
from tests.synthetic_runs import make_case, write_synthetic_run  # noqa: E402

BUDGET_SECONDS = 10.0
VARIANTS = {"prompt-only": 0.70, "rag": 0.78, "fine-tuned": 0.85}
KINDS = {"prompt-only": "prompt", "rag": "rag", "fine-tuned": "adapter"}
BINARY = ("answer_correct", "schema_valid", "style_pass", "exact_match")
CASES = 150


def results(rng: np.random.Generator, night: int) -> list[CaseResult]:
    """One night's results: 4 pass/fail metrics, a similarity and a violation count per case."""
    out = []
    for variant, rate in VARIANTS.items():
        drift = 0.05 * np.sin(night / 40) - (0.08 if variant == "fine-tuned" and 500 <= night < 550 else 0.0)
        for index in range(CASES):
            case = make_case("triage", index)
            passed = rng.random(len(BINARY)) < rate + drift
            scores = [Score(m, float(p)) for m, p in zip(BINARY, passed, strict=True)]
            scores += [Score("style_similarity", float(rng.beta(8, 3))), Score("style_violations", float(rng.poisson(0.4)))]
            text = case.reference if passed[0] else json.dumps({"category": "other"})
            out.append(CaseResult(case, Generation(case.id, variant, 0, text, 180, 12, 0.2 + rng.random() / 10), scores))
    return out


def build_store(store: Path, runs: int) -> None:
    """Write ``runs`` nightly runs straight into the store (the same records `history import` writes)."""
    rng = np.random.default_rng(0)
    template = read_run(write_synthetic_run(Path(tempfile.mkdtemp()), "triage", "2026-01-01T02:00:00+00:00",
                                            {v: [[1]] for v in VARIANTS}))
    start = dt.datetime(2024, 1, 1, 2, tzinfo=dt.UTC)
    conn = connect(store)
    for night in range(runs):
        items = results(rng, night)
        cases, outputs = run_cases_outputs(items)
        when = (start + dt.timedelta(days=night)).isoformat(timespec="seconds")
        record = dataclasses.replace(
            template, run_id=f"night-{night:04d}", created_at=when, content_sha256=str(night),
            data_sha256="data-1" if night < 500 else "data-2",
            variants={v: (KINDS[v], f"adapter-{night // 50}" if v == "fine-tuned" else None, None) for v in VARIANTS},
            metrics=run_metrics(items), cases=cases, outputs=outputs)
        write_run(conn, record)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=ROOT / ".harness" / "bench-report")
    args = parser.parse_args()
    store = args.work / f"history-{args.runs}.sqlite"
    if not store.exists():
        started = time.perf_counter()
        args.work.mkdir(parents=True, exist_ok=True)
        partial = store.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build_store(partial, args.runs)
        partial.rename(store)
        print(f"built {store} in {time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory() as out:
        before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run([sys.executable, "-m", "harness", "report", "--store", str(store), "--out", out], check=True, cwd=ROOT)
        wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
        size = (Path(out) / "index.html").stat().st_size
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"harness report over {args.runs} runs x {len(VARIANTS)} variants x 6 metrics x {CASES} cases: "
          f"{cpu:.2f} s CPU, {wall:.2f} s wall (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores), "
          f"index.html {size / 1024:.0f} KiB")
    print("floor: n/a (no model stage)")  # bench/floor.py: no model work is timed here
    print(f"ratio seconds/budget = {cpu / BUDGET_SECONDS:.2f}")


if __name__ == "__main__":
    main()
