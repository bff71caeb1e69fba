"""How long a writer waits when several processes share one history store and one generation cache.

Four processes (as `pytest -n 4`, or a nightly job beside a developer's runs) each index
``--runs`` run folders into one history store and write ``--runs`` batches of generations into one
cache, as fast as they can: far denser than real evaluations, which generate for seconds
between writes. Each write is timed from the call to its commit; alone it takes ``alone``, and the
excess under contention is the wait for the other writers' locks.

    python bench/concurrency.py [--writers 4] [--runs 30]

Prints the machine, then per store: the median and the slowest write alone and with the others,
and the busy timeout after which a writer would give up (none reached it if the run finishes).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.eval.cache import GenerationCache  # noqa: E402
from harness.history.schema import BUSY_TIMEOUT_S  # noqa: E402
from harness.history.store import index_run  # noqa: E402
from harness.records import Generation  # noqa: E402
from tests.synthetic_runs import write_synthetic_run  # noqa: E402

BATCH = 100  # generations per cache write (one variant of a 100-case held-out set)
CACHE_TIMEOUT_S = GenerationCache.__init__.__defaults__[0]  # type: ignore[index]


def cpu_line() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return f"{line.split(':', 1)[1].strip()}, {multiprocessing.cpu_count()} cores, Python {platform.python_version()}"
    return platform.processor()


def make_runs(folder: Path, writer: int, n: int) -> list[Path]:
    scores = {"prompt-only": [[1], [0]] * 50, "fine-tuned": [[1], [1]] * 50}
    return [write_synthetic_run(folder / f"w{writer}", f"task{writer}",
                                f"2026-03-{i % 28 + 1:02d}T{i % 24:02d}:{writer:02d}:00+00:00", scores) for i in range(n)]


def writer(args: tuple[int, Path, int, multiprocessing.synchronize.Barrier | None]) -> tuple[list[float], list[float]]:
    index, tmp, n, barrier = args
    runs = make_runs(tmp / "runs", index, n)
    cache = GenerationCache(tmp / "cache.sqlite")
    store_times, cache_times = [], []
    if barrier is not None:
        barrier.wait()
    for i, run in enumerate(runs):
        started = time.perf_counter()
        index_run(run, tmp / "history.sqlite")
        store_times.append(time.perf_counter() - started)
        batch = [(f"{index}-{i}-{k}", Generation(f"c{k}", "v", 0, "x" * 200, 50, 20, 0.5)) for k in range(BATCH)]
        started = time.perf_counter()
        cache.put_many(batch)
        cache_times.append(time.perf_counter() - started)
    cache.close()
    return store_times, cache_times


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:6.1f} ms, slowest {max(times) * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {cpu_line()}; load average before {os.getloadavg()[0]:.1f} (other work on the cores colours every figure)")
    with tempfile.TemporaryDirectory() as alone_dir:
        alone = writer((0, Path(alone_dir), args.runs, None))
    with tempfile.TemporaryDirectory() as shared_dir:
        context = multiprocessing.get_context("spawn")
        barrier = context.Manager().Barrier(args.writers)
        with context.Pool(args.writers) as pool:
            together = pool.map(writer, [(i, Path(shared_dir), args.runs, barrier) for i in range(args.writers)])
    for name, position, timeout in (("history store", 0, BUSY_TIMEOUT_S), ("generation cache", 1, CACHE_TIMEOUT_S)):
        shared = [t for result in together for t in result[position]]
        print(f"{name:17} alone: {summary(alone[position])} | {args.writers} writers: {summary(shared)} "
              f"| gives up after {timeout:.0f} s")
    print("floor: n/a (no model stage)")  # bench/floor.py: store and cache writes, no model work


if __name__ == "__main__":
    main()
