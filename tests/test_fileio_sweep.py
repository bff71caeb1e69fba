"""A single-file atomic write killed mid-write (SIGKILL, a real process): its hidden temporary file is
removed by the next write into the same folder, and a live writer's never is.

The writer is a real Python process whose ``os.fsync`` announces itself and then sleeps, so the kill
lands deterministically after the text is written and before the rename.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.fileio import atomic_write_text, remove_abandoned_files

WRITER = """
import os, sys, time
import harness.fileio as fileio

def stalled_fsync(fd):
    print("writing", flush=True)
    time.sleep(120)

os.fsync = stalled_fsync
fileio.atomic_write_text(sys.argv[1], "half of a file")
"""


def stalled_writer(path: Path) -> subprocess.Popen[str]:
    """A process stopped inside ``atomic_write_text(path)``, its temporary file written and held."""
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "writing"
    return process


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.slow
def test_a_killed_writers_temporary_file_is_removed_at_the_next_write_and_a_live_ones_is_not(tmp_path):
    target = tmp_path / "registry.json"
    atomic_write_text(target, "the previous file")
    writer = stalled_writer(target)
    try:
        left = temporaries(tmp_path)
        assert len(left) == 1 and left[0].startswith(".registry.json.") and left[0].endswith(".tmp")
        atomic_write_text(tmp_path / "other.json", "{}")  # a write beside a live writer: its file stays
        assert temporaries(tmp_path) == left
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert target.read_text() == "the previous file"
    assert temporaries(tmp_path) == left  # nothing removes it by itself
    atomic_write_text(tmp_path / "other.json", "[]")  # the next write into the folder sweeps it
    assert temporaries(tmp_path) == []
    assert target.read_text() == "the previous file" and (tmp_path / "other.json").read_text() == "[]"


def test_the_sweep_touches_only_its_own_names_and_waits_for_files_being_created(tmp_path):
    for name in (".notes.tmp", ".a.json.tmp", ".a.json.ABCDEFGH.tmp", "a.json.abcdefgh.tmp"):
        (tmp_path / name).write_text("someone else's")
    abandoned = tmp_path / ".a.json.k3x_9qzp.tmp"
    abandoned.write_text("a killed writer's")
    creating = tmp_path / ".b.json.0123abcd.tmp-creating"  # killed between creating and locking it
    creating.write_text("")
    assert remove_abandoned_files(tmp_path) == [abandoned]
    assert creating.exists()
    old = time.time() - 120
    os.utime(creating, (old, old))
    assert remove_abandoned_files(tmp_path) == [creating]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.json.ABCDEFGH.tmp", ".a.json.tmp", ".notes.tmp",
                                                          "a.json.abcdefgh.tmp"]
