"""Real `harness` processes for the concurrency, kill and disk-full tests, and the small projects they run on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.fileio import sha256_file
from tests.test_eval import CONFIG
from tests.test_gate import GATE_CONFIG
from tests.test_training import CONFIG as LORA_CONFIG
from tests.tiny import write_triage_file


def harness_process(*argv: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m harness ARGV`` as its own process (stdout and stderr captured)."""
    return subprocess.Popen([sys.executable, "-m", "harness", *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def finish(process: subprocess.Popen[str], timeout: float = 180) -> tuple[int, str]:
    """Wait for ``process``; its exit code and its stdout and stderr together."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


def write_eval_project(folder: Path, checkpoint: Path, adapters: dict[str, Path]) -> Path:
    """The tiny model's triage project of the eval tests (prompt-only, RAG and adapter ``a``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_triage_file(folder / "train.jsonl", 30)
    write_triage_file(folder / "heldout.jsonl", 6, offset=1000)
    (folder / "harness.yaml").write_text(CONFIG.format(model=checkpoint, adapter=adapters["a"]))
    return folder


def write_gate_project(folder: Path, checkpoint: Path, adapter: Path, candidate: Path | None = None) -> Path:
    """The gate tests' project in ``folder`` (10 training and 4 held-out triage examples, a ``harness.yaml`` of
    prompt-only against the current triage adapter) and a candidate copied from ``adapter`` to ``candidate``
    (default ``folder/candidates/triage-1``) whose manifest names its task and training data; returns the candidate."""
    folder.mkdir(parents=True, exist_ok=True)
    write_triage_file(folder / "train.jsonl", 10)
    write_triage_file(folder / "heldout.jsonl", 4, offset=100)
    (folder / "harness.yaml").write_text(GATE_CONFIG.format(model=checkpoint))
    candidate = candidate or folder / "candidates" / "triage-1"
    shutil.copytree(adapter, candidate)
    data = {"dataset": str(folder / "train.jsonl"), "dataset_sha256": sha256_file(folder / "train.jsonl")}
    (candidate / "manifest.json").write_text(json.dumps({"task": "triage", "data": data}))
    return candidate


def write_train_workdir(folder: Path, checkpoint: Path, examples: int, epochs: int, output_dir: Path | None = None) -> Path:
    """The training tests' folder: ``model`` (a link to ``checkpoint``), ``examples`` triage lines in ``train.jsonl``
    and a ``lora.yaml`` of ``epochs`` epochs writing candidates to ``output_dir`` (default ``./candidates``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model").symlink_to(checkpoint)
    write_triage_file(folder / "train.jsonl", examples)
    config = LORA_CONFIG.format(epochs=epochs)
    if output_dir is not None:
        config = config.replace("output_dir: ./candidates", f"output_dir: {output_dir}")
    (folder / "lora.yaml").write_text(config)
    return folder
