"""The training run's scratch folder: hidden inside the output folder, gone after every run.

Checkpoints and the candidate being assembled live in ``<output_dir>/.train-<random>.partial/``.
The folder is removed when training ends, fails, is interrupted (Ctrl-C) or terminated
(SIGTERM is turned into an exception while training runs). A SIGKILL cannot be caught: the
folder is held with an OS lock while its run lives (:func:`harness.fileio.held_folder`), so the
next run in the same output folder removes the scratch folders nobody holds, and never one of a
training running beside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from harness.errors import DiskFull, InputError
from harness.fileio import disk_full, folder_bytes, held_folder, is_no_space, remove_abandoned

log = logging.getLogger(__name__)

PREFIX = ".train-"
SUFFIX = ".partial"


class Terminated(SystemExit):
    """SIGTERM arrived while training: unwind so the scratch folder is removed."""


def check_output_dir(output_dir: str | os.PathLike[str]) -> None:
    """Refuse an output folder that is a file, before any work is done.

    Raises:
        InputError: ``output_dir`` exists and is not a folder.
    """
    if Path(output_dir).exists() and not Path(output_dir).is_dir():
        raise InputError("output_dir is a file; give a folder for the candidates", path=str(output_dir), code="not-a-folder")


@contextlib.contextmanager
def work_folder(output_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh scratch folder in ``output_dir``, removed on exit; stale ones are removed first."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    with held_folder(out, PREFIX, SUFFIX) as folder:
        try:
            with _sigterm_unwinds():
                yield folder
        except Exception as exc:
            if is_no_space(exc) and not isinstance(exc, DiskFull):  # a checkpoint or the candidate did not fit
                raise disk_full(out, folder_bytes(folder), at_least=True) from None
            raise
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def clean_stale(output_dir: Path) -> list[Path]:
    """Remove scratch folders left by runs that ended without cleaning up (SIGKILL); return them."""
    removed = remove_abandoned(output_dir, f"{PREFIX}*{SUFFIX}")
    if removed:
        log.info("removed %d scratch folders of interrupted training runs in %s", len(removed), output_dir)
    return removed


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
