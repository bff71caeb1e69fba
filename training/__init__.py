"""LoRA training: ``lora.yaml`` in, a candidate adapter directory out.

The candidate is not deployed until the gate accepts it.
"""

from __future__ import annotations

from pathlib import Path

from training.config import TrainConfig, load_config


def train_candidate(config: TrainConfig) -> Path:
    """Prepare the data, train, and write ``<output_dir>/<id>/``; return its path.

    Under ``torchrun``/``accelerate launch`` every rank trains its share and the main process
    alone writes the candidate (``training/distributed.py``); every rank returns its path.
    """
    from training.candidate import write_candidate
    from training.data import prepare_sets
    from training.distributed import on_main
    from training.trainer import train

    sets = prepare_sets(config)
    result = train(config, sets)
    return on_main(lambda: write_candidate(config, result, sets.provenance))


__all__ = ["TrainConfig", "load_config", "train_candidate"]
