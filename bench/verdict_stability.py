"""How often does a demo candidate reach the same gate verdict across training seeds and precisions?

For each (seed, precision) the task's ``lora.yaml`` is copied with ``seed`` and
``training.precision`` replaced (nothing else: same data, epochs, learning rate, replay), the
candidate is trained with ``harness train`` and judged with ``harness gate`` (its ``decision.json``) on the
task's own ``harness.yaml`` (same held-out set, tolerances and checks). One row per run: the
verdict, each check's verdict and paired difference with its interval, the training time and the
machine. The rows go to ``OUT/rows.jsonl`` as they finish (a killed run keeps what it had) and
a Markdown table to ``OUT/table.md`` at the end.

    python bench/verdict_stability.py suites/house_style --seeds 0 1 2 --precisions fp32 bf16 --out runs/stability

The evaluation side (generation dtype, batch size) is the harness.yaml's, so only training
changes between rows. ``--eval-batch`` overrides the generation batch size (a GPU takes 64 where
a 2-core CPU is happiest at 16), ``--eval-dtype`` the generation dtype (float32 on a GPU keeps the
evaluation in the precision a CPU runs it in), ``--jobs`` runs rows side by side.
It runs for a long time on a CPU (each house-style row trains 10-13 min there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class CheckFigure:
    name: str
    verdict: str
    delta: float | None
    low: float | None
    high: float | None
    threshold: float | None


@dataclass(frozen=True)
class StabilityRow:
    task: str
    seed: int
    precision: str
    verdict: str
    checks: list[CheckFigure]
    train_seconds: float
    gate_seconds: float
    trained_tokens: int | None
    candidate: str
    machine: str


def machine_line() -> str:
    """CPU model, cores and the GPU if any: the figures of a row belong to the machine it ran on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    line = f"{cpu}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            line += f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return line


def absolute_paths(config: dict, folder: Path, keys: tuple[str, ...]) -> dict:
    """The same config with its relative file paths made absolute (the copy lives elsewhere)."""
    out = dict(config)
    for key in keys:
        value = out.get(key)
        if isinstance(value, str) and not value.startswith(("builtin:", "current:", "/")) and (folder / value).exists():
            out[key] = str((folder / value).resolve())
    return out


def write_train_config(task_dir: Path, seed: int, precision: str, out: Path) -> Path:
    config = yaml.safe_load((task_dir / "lora.yaml").read_text())
    config = absolute_paths(config, task_dir, ("dataset", "heldout"))
    config["seed"] = seed
    config["training"] = {**config["training"], "precision": precision}
    replay = config.get("replay")
    if isinstance(replay, dict):
        config["replay"] = absolute_paths(replay, task_dir, ("prompts", "dataset"))
    config["output_dir"] = str((out / "candidates").resolve())
    path = out / "configs" / f"lora-seed{seed}-{precision}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run(command: list[str]) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command)}: exit {done.returncode}")
    return done.stdout, seconds


def one_row(task_dir: Path, gate_config: Path, seed: int, precision: str, out: Path, machine: str) -> StabilityRow:
    train_config = write_train_config(task_dir, seed, precision, out)
    stdout, train_seconds = run(["harness", "train", str(train_config)])
    candidate = stdout.strip().splitlines()[-1].strip()
    manifest = json.loads((Path(candidate) / "manifest.json").read_text())
    _, gate_seconds = run(["harness", "gate", candidate, "--config", str(gate_config), "--runs-dir", str(out / "runs")])
    decision = json.loads((Path(candidate) / "decision.json").read_text())
    checks = [
        CheckFigure(
            name=check["name"],
            verdict=check["verdict"],
            delta=check.get("delta"),
            low=(check.get("interval") or [None, None])[0],
            high=(check.get("interval") or [None, None])[1],
            threshold=check.get("threshold"),
        )
        for check in decision["checks"]
    ]
    return StabilityRow(
        task=decision["task"], seed=seed, precision=str(manifest["stats"].get("precision", precision)),
        verdict=decision["verdict"], checks=checks, train_seconds=round(train_seconds, 1),
        gate_seconds=round(gate_seconds, 1), trained_tokens=manifest["stats"].get("trained_tokens"),
        candidate=candidate, machine=machine,
    )


def figure(check: CheckFigure) -> str:
    if check.delta is None:
        return f"{check.verdict}"
    interval = f" [{check.low:+.3f}, {check.high:+.3f}]" if check.low is not None and check.high is not None else ""
    return f"{check.delta:+.3f}{interval} {check.verdict}"


def table(rows: list[StabilityRow]) -> str:
    names: list[str] = []
    for row in rows:
        names += [c.name for c in row.checks if c.name not in names]
    head = ["task", "seed", "precision", "verdict", *names, "train s", "machine"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        by_name = {c.name: figure(c) for c in row.checks}
        cells = [row.task, str(row.seed), row.precision, f"**{row.verdict}**", *(by_name.get(n, "") for n in names),
                 f"{row.train_seconds:.0f}", row.machine]
        lines.append("| " + " | ".join(cells) + " |")
    verdicts = [row.verdict for row in rows]
    common = max(set(verdicts), key=verdicts.count) if verdicts else "none"
    lines.append("")
    lines.append(f"same verdict as the most common one ({common}): {verdicts.count(common)} of {len(verdicts)} runs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_dir", type=Path, help="a task folder with lora.yaml and harness.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--eval-batch", type=int, default=None, help="generation batch size for the gate")
    parser.add_argument("--eval-dtype", choices=["float32", "bfloat16"], default=None,
                        help="the gate's generation dtype (a GPU's default is bfloat16; float32 matches a CPU's)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="rows run side by side (a GPU has room for several; a 2-core CPU does not)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    gate_config = args.task_dir / "harness.yaml"
    overrides = {k: v for k, v in (("batch_size", args.eval_batch), ("dtype", args.eval_dtype)) if v is not None}
    if overrides:
        config = yaml.safe_load(gate_config.read_text())
        config["backend"] = {**config.get("backend", {}), **overrides}
        gate_config = args.task_dir / ".harness-stability.yaml"  # beside it: its relative paths hold
        gate_config.write_text(yaml.safe_dump(config, sort_keys=False))
    machine = machine_line()
    print(f"machine: {machine}", flush=True)
    rows: list[StabilityRow] = []
    lock = threading.Lock()

    def one(seed: int, precision: str) -> None:
        row = one_row(args.task_dir, gate_config, seed, precision, args.out, machine)
        with lock:
            rows.append(row)
            with (args.out / "rows.jsonl").open("a") as handle:
                handle.write(json.dumps(asdict(row)) + "\n")
            print(f"{row.task} seed {seed} {row.precision}: {row.verdict} "
                  f"({'; '.join(f'{c.name} {figure(c)}' for c in row.checks)}) train {row.train_seconds:.0f} s, "
                  f"gate {row.gate_seconds:.0f} s", flush=True)

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for future in [pool.submit(one, seed, precision) for precision in args.precisions for seed in args.seeds]:
                future.result()
    finally:
        if overrides:
            gate_config.unlink(missing_ok=True)
    rows.sort(key=lambda row: (row.precision, row.seed))
    text = table(rows)
    (args.out / "table.md").write_text(text + "\n")
    print(text)
    print("floor: n/a (verdicts, not speed: bench/floor.py and bench/steps.py time the stages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
