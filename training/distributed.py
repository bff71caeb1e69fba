"""Data-parallel training under ``torchrun`` or ``accelerate launch``: who writes, and what all ranks share.

The Trainer does the data parallelism itself (DDP; gloo on CPU, NCCL on GPUs), with every
rank reading the same config and preparing the same sets. What the harness adds: the
checkpoints of one run live in one folder that every rank sees (the main process saves
them, every rank reloads the best one), the candidate folder is written once by the main
process and its path is handed to the others, and the manifest records the world size and
the effective batch size (per-device batch × gradient accumulation × world size).
Launchers set ``RANK`` and ``WORLD_SIZE``; without them this is a single process.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place in a launch."""

    rank: int = 0
    """Global rank (0: the main process)."""
    size: int = 1
    """Number of processes."""

    @property
    def is_main(self) -> bool:
        """Whether this process writes outputs and prints."""
        return self.rank == 0


def world() -> World:
    """The launch this process belongs to, from the launcher's environment (``RANK``, ``WORLD_SIZE``)."""
    return World(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")))


def effective_batch_size(batch_size: int, gradient_accumulation: int, world_size: int) -> int:
    """Examples per optimizer update across all processes."""
    return batch_size * gradient_accumulation * world_size


def pin_local_device() -> None:
    """Under a multi-GPU launch, make ``cuda`` mean this rank's GPU (``LOCAL_RANK``), so no rank loads onto GPU 0."""
    import torch

    if world().size > 1 and torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def _process_group() -> Any:
    """``torch.distributed``, its process group started (accelerate picks gloo without CUDA, NCCL with it)."""
    import torch.distributed as dist
    from accelerate import PartialState

    PartialState()  # the same shared state the Trainer's arguments use later
    return dist


def _broadcast(value: T | None) -> T:
    """The main process's ``value``, on every rank."""
    dist = _process_group()
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[return-value]


@contextmanager
def shared_work_folder(output_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """The run's scratch folder (:func:`training.workdir.work_folder`), made by the main process and seen by every rank.

    Checkpoints and the candidate being assembled live there; the main process removes it
    after every rank is done with it.
    """
    from harness.training.workdir import work_folder

    here = world()
    if here.size == 1:
        with work_folder(output_dir) as folder:
            yield folder
        return
    with contextlib.ExitStack() as stack:
        made = stack.enter_context(work_folder(output_dir)) if here.is_main else None
        folder = Path(_broadcast(str(made) if made else None))
        try:
            yield folder
        finally:
            _process_group().barrier()  # nobody still reads a checkpoint before the main process removes it


def on_main(make: Callable[[], T]) -> T:
    """Run ``make`` on the main process only; every rank gets its result."""
    here = world()
    if here.size == 1:
        return make()
    log.info("rank %d of %d: waiting for the main process", here.rank, here.size)
    return _broadcast(make() if here.is_main else None)
