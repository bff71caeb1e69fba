"""Wall time of `harness train` under torchrun: 1 process against 2 (gloo, CPU), on the tiny random-weight model.

The same lora.yaml both times; each run is the whole command (process start, data
preparation, training, per-epoch evaluation, writing the candidate), as a user sees it.

    python bench/distributed.py [--examples 240] [--epochs 2]

Last line: ``ratio 2 processes/1 process = X.XX`` (target <= 1.0 with two free cores; above 1 on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floor import FloorRatio, header, shape_of_checkpoint, training_floor_s  # noqa: E402
from tests.tiny import make_tiny_checkpoint, write_triage_file  # noqa: E402

CONFIG = """\
base_model: ./model
dataset: ./train.jsonl
lora: {{r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, v_proj]}}
training: {{epochs: {epochs}, learning_rate: 2.0e-2, batch_size: 8, eval_split: 0.2}}
output_dir: ./candidates
task: triage
"""


def timed_train(folder: Path, processes: int) -> float:
    """Seconds for ``torchrun --nproc_per_node PROCESSES -m harness train lora.yaml`` in ``folder``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "-m", "harness",
                           "train", "lora.yaml"], cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"torchrun with {processes} process(es) failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=240)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ddp-") as tmp:
        folder = Path(tmp)
        make_tiny_checkpoint(folder / "model")
        write_triage_file(folder / "train.jsonl", args.examples)
        (folder / "lora.yaml").write_text(CONFIG.format(epochs=args.epochs))
        one = timed_train(folder, 1)
        two = timed_train(folder, 2)
        manifests = sorted((json.loads(p.read_text()) for p in (folder / "candidates").glob("*/manifest.json")),
                           key=lambda m: m["created_at"])
        shape = shape_of_checkpoint(folder / "model")
    print(f"cpu cores: {os.cpu_count()}; {args.examples} examples, {args.epochs} epochs")
    print(f"wall 1 process: {one:.1f} s")
    print(f"wall 2 processes: {two:.1f} s")
    peaks = header("fp32")
    for processes, seconds, manifest in ((1, one, manifests[0]), (2, two, manifests[-1])):
        tokens = manifest["stats"]["trained_tokens"]
        print(FloorRatio(f"harness train, {processes} process{'es' if processes > 1 else ''} (whole command)", seconds,
                         training_floor_s(shape, tokens, peaks),
                         f"{tokens:,} trained tokens of a tiny random model: the wall is process start, "
                         "data preparation and writing, not the model").line())
    print(f"ratio 2 processes/1 process = {two / one:.2f}")


if __name__ == "__main__":
    main()
