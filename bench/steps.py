"""The demo's per-step time table, with each model-bound step's ratio to this machine's floor.

``suites/demo.sh`` writes one line per step to a step log (``<unix time>\\t<step name>``, and a last
``<unix time>\\tend``); this script turns it into the table the demo prints at its end. The work a
step did is what it left behind in that time window:

- generations: rows the generation cache (``<harness cache>/generations.sqlite``) gained, with their
  prompt and new tokens (a cached generation cost nothing and adds no row);
- training: candidate manifests (``--candidates`` folders, searched below) created in the window,
  with their ``stats.trained_tokens`` and precision.

The floor of that work (``bench/floor.py``: prefill and decode at ``--batch``, 4 x parameters FLOPs
per trained token) against the step's seconds is the step's ratio. The floor counts only that work:
token losses, scoring, model loads and process start are above it, so a step's ratio says how far
the whole step is from the least its model work needs. Steps that left no model work say ``n/a``.

    python bench/steps.py runs/demo/steps.tsv [--candidates candidates --candidates runs/demo]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.floor importable

from bench.floor import Peaks, Shape, generation_floor_s, header, shape_of_model, training_floor_s  # noqa: E402


@dataclass(frozen=True)
class Step:
    """One step of the demo as its log has it."""

    name: str
    started: float
    """Unix time the step began."""
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def label(self) -> str:
        """The name up to its first colon, as the table shows it."""
        return self.name.split(":", 1)[0]


@dataclass(frozen=True)
class Training:
    """A candidate trained during a step."""

    tokens: int
    precision: str


@dataclass(frozen=True)
class Work:
    """The model work a step did."""

    generations: int = 0
    prompt_tokens: int = 0
    new_tokens: int = 0
    trainings: tuple[Training, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.generations:
            parts.append(f"{self.generations:,} generations ({self.prompt_tokens:,} prompt + {self.new_tokens:,} new tokens)")
        for t in self.trainings:
            parts.append(f"training {t.tokens:,} tokens ({t.precision})")
        return "; ".join(parts) or "-"

    def floor_s(self, shape: Shape, peaks: Peaks, batch: int, precision: str) -> float:
        """The least time this work needs here: generation at ``batch`` in ``precision``, and each training."""
        generation = generation_floor_s(shape, self.prompt_tokens, self.new_tokens, batch, peaks, precision)
        return generation + sum(training_floor_s(shape, t.tokens, peaks, t.precision) for t in self.trainings)


def read_steps(path: Path) -> list[Step]:
    """The steps of a step log.

    Raises:
        ValueError: a line is not ``<unix time><TAB><name>`` (the message names the file and line).
    """
    marks: list[tuple[float, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stamp, _, name = line.partition("\t")
        try:
            marks.append((float(stamp), name))
        except ValueError:
            raise ValueError(f"{path}:{number}: not '<unix time><TAB><step name>'; the demo writes these lines") from None
    return [Step(name, start, end) for (start, name), (end, _) in zip(marks, marks[1:], strict=False)]


def generations_between(cache: Path, started: float, ended: float) -> tuple[int, int, int]:
    """Rows the generation cache gained in [started, ended): count, prompt tokens, new tokens."""
    if not cache.exists():
        return 0, 0, 0
    with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as db:
        row = db.execute("SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0) "
                         "FROM generations WHERE created_at >= ? AND created_at < ?", (started, ended)).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def candidate_manifests(folders: Iterable[Path]) -> list[dict[str, object]]:
    """Every candidate manifest below ``folders`` (``kind: harness-candidate`` with training stats), each training once.

    A copied candidate (the demo's deliberately broken one is a copy with its LoRA B zeroed) carries its
    original's manifest: equal manifests are one training, not two."""
    found, seen = [], set()
    for folder in folders:
        for path in sorted(folder.rglob("manifest.json")) if folder.is_dir() else []:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("kind") == "harness-candidate" and isinstance(data.get("stats"), dict):
                key = json.dumps(data, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    found.append(data)
    return found


def unix_time(iso: object) -> float | None:
    try:
        return datetime.datetime.fromisoformat(str(iso)).timestamp()
    except ValueError:
        return None


def work_of(step: Step, cache: Path, manifests: list[dict[str, object]]) -> Work:
    trainings = []
    for manifest in manifests:
        created = unix_time(manifest.get("created_at"))
        stats = manifest["stats"]
        assert isinstance(stats, dict)
        if created is not None and step.started <= created < step.ended and isinstance(stats.get("trained_tokens"), int):
            trainings.append(Training(stats["trained_tokens"], str(stats.get("precision") or "fp32")))
    count, prompt, new = generations_between(cache, step.started, step.ended)
    return Work(count, prompt, new, tuple(trainings))


def table(steps: list[Step], works: list[Work], shape: Shape, peaks: Peaks, batch: int, precision: str) -> str:
    """The demo's per-step table as Markdown: seconds, the model work, its floor and the ratio."""
    rows = ["| step | seconds | model work | floor | ratio to floor |", "|---|---|---|---|---|"]
    below = False
    for step, work in zip(steps, works, strict=True):
        if work.generations or work.trainings:
            floor = work.floor_s(shape, peaks, batch, precision)
            cells = [f"{floor:.1f} s", f"{step.seconds / floor:.1f}x"]
        else:
            cells = ["-", "n/a"]
        rows.append(f"| {step.label} | {step.seconds:.0f} | {work.describe()} | " + " | ".join(cells) + " |")
        below = below or (cells[1] != "n/a" and step.seconds < work.floor_s(shape, peaks, batch, precision))
    if below:
        rows.append("\nA ratio below 1 is no step faster than the machine. Either the floor counts more work than was done "
                    "(it counts every prompt token of a generation, and the local backend computes a prefix its prompts "
                    "share once: the judge's rubric and worked examples are most of its prompt tokens), or the rates "
                    "were measured when the cores were busier than while the step ran (see the load averages).")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    from harness.models import DEFAULT_MODEL, cache_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="the step log the demo wrote")
    parser.add_argument("--cache", type=Path, default=None, help="generation cache (default: the harness cache's)")
    parser.add_argument("--candidates", type=Path, action="append", default=[], help="where candidates were trained")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the model every step ran (default: the embedded one)")
    parser.add_argument("--batch", type=int, default=16, help="generation batch size (the local backend's default)")
    parser.add_argument("--precision", default="fp32", help="generation precision (the local backend's: fp32)")
    args = parser.parse_args(argv)
    if not args.log.is_file():
        print(f"{args.log}: no step log; run suites/demo.sh, which writes it", file=sys.stderr)
        return 2
    try:
        steps = read_steps(args.log)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    manifests = candidate_manifests(args.candidates)
    works = [work_of(step, args.cache or cache_dir() / "generations.sqlite", manifests) for step in steps]
    peaks = header(f"generation {args.precision}, training as each candidate's manifest says")
    print(table(steps, works, shape_of_model(args.model), peaks, args.batch, args.precision))
    return 0


if __name__ == "__main__":
    sys.exit(main())
