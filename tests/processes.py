"""Real `harness` processes for the concurrency and kill tests, and the small project they evaluate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.test_eval import CONFIG
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
