"""LoRA training: ``lora.yaml`` in, a candidate adapter directory out.

The candidate is not deployed until the gate accepts it.
"""

from __future__ import annotations

from pathlib import Path

from harness.training.config import TrainConfig, load_config


def train_candidate(config: TrainConfig) -> Path:
    """Prepare the data, train, and write ``<output_dir>/<id>/``; return its path.

    Under ``torchrun``/``accelerate launch`` every rank trains its share and the main process
    alone writes the candidate (``training/distributed.py``); every rank returns its path.
    """
    from harness.training.candidate import write_candidate
    from harness.training.data import prepare_sets
    from harness.training.distributed import on_main, shared_work_folder
    from harness.training.trainer import train
    from harness.training.workdir import check_output_dir

    check_output_dir(config.output_dir)
    sets = prepare_sets(config)
    with shared_work_folder(config.output_dir) as work:  # one scratch folder for every rank
        result = train(config, sets, work / "checkpoints")
        return on_main(lambda: write_candidate(config, result, sets.provenance, work))


__all__ = ["TrainConfig", "load_config", "train_candidate"]
