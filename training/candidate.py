"""Write a candidate adapter directory, atomically, with the manifest that proves what made it.

``candidates/<id>/`` holds ``adapter_model.safetensors``, ``adapter_config.json``, the
tokenizer and chat template, ``config.yaml`` (the resolved config), ``metrics.jsonl``
(the Trainer's log history) and ``manifest.json``. The folder is assembled under a
hidden scratch folder inside the output folder and renamed at the end: an interrupted run leaves nothing that
looks like a candidate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from harness.training.config import TrainConfig
from harness.training.trainer import TrainResult

from harness.fileio import atomic_write_json, sha256_file, sha256_text
from harness.manifests import (
    MANIFEST,
    AdapterInfo,
    BaseModelInfo,
    CandidateManifest,
    Environment,
    EpochLoss,
    TrainingData,
    TrainingStats,
)
from harness.models.chat import template_hash
from harness.provenance import environment

ADAPTER_WEIGHTS = "adapter_model.safetensors"


def candidate_id(config: TrainConfig, dataset_sha256: str, now: dt.datetime) -> str:
    """``<task>-<UTC timestamp>-<6 hex of config and data>``: sortable and unique per input."""
    name = config.task or Path(config.dataset).stem
    digest = sha256_text(json.dumps(config.to_dict(), sort_keys=True) + dataset_sha256)[:6]
    return f"{name}-{now:%Y%m%d-%H%M%S}-{digest}"


def epoch_losses(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean train loss and the eval loss of each epoch, from the Trainer's log history."""
    train: dict[int, list[float]] = defaultdict(list)
    evals: dict[int, float] = {}
    for entry in log_history:
        epoch = max(1, int(-(-entry.get("epoch", 0) // 1)))  # ceil: logs inside epoch k carry k-1 < e <= k
        if "loss" in entry:
            train[epoch].append(entry["loss"])
        if "eval_loss" in entry:
            evals[epoch] = entry["eval_loss"]
    return [
        {"epoch": e, "train_loss": round(sum(train[e]) / len(train[e]), 4) if train[e] else None, "eval_loss": round(evals[e], 4)}
        for e in sorted(evals)
    ]


def write_candidate(config: TrainConfig, result: TrainResult, data_provenance: dict[str, Any], work: Path) -> Path:
    """Save the adapter and its provenance as ``<output_dir>/<id>/`` and return the path.

    The folder is assembled inside ``work`` (the run's hidden scratch folder in the same
    output folder) and renamed into place, so a killed run never leaves a partial candidate.
    """
    now = dt.datetime.now(dt.UTC)
    cid = candidate_id(config, data_provenance["dataset_sha256"], now)
    final = Path(config.output_dir) / cid
    if final.exists():
        raise FileExistsError(final)
    tmp = work / cid
    tmp.mkdir()
    result.model.save_pretrained(tmp, safe_serialization=True)
    result.tokenizer.save_pretrained(tmp)
    (tmp / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    (tmp / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in result.log_history))
    atomic_write_json(tmp / MANIFEST, _manifest(cid, now, config, result, data_provenance, tmp).to_dict())
    os.replace(tmp, final)
    return final


def _manifest(cid: str, now: dt.datetime, config: TrainConfig, result: TrainResult,
              data_provenance: dict[str, Any], folder: Path) -> CandidateManifest:
    epochs = epoch_losses(result.log_history)
    best = min(epochs, key=lambda e: e["eval_loss"])["epoch"] if epochs else None
    split_manifest = Path(config.dataset).parent / "split.json"
    data = {k: v for k, v in data_provenance.items() if k not in ("dataset", "dataset_sha256")}
    stats = {k: v for k, v in result.stats.items() if k != "wall_seconds"}
    return CandidateManifest(
        id=cid,
        created_at=now.isoformat(timespec="seconds"),
        task=config.task,
        base_model=BaseModelInfo(result.base.ref.spec, result.base.ref.kind, dict(result.base.ref.identity)),
        adapter=AdapterInfo(sha256_file(folder / ADAPTER_WEIGHTS), config.lora.r, config.lora.alpha,
                            config.lora.target_modules),
        data=TrainingData(data_provenance.get("dataset"), data_provenance.get("dataset_sha256"), data),
        split_manifest=json.loads(split_manifest.read_text()) if split_manifest.exists() else None,
        chat_template_sha256=template_hash(result.tokenizer),
        seed=config.seed,
        epochs=tuple(EpochLoss(e["epoch"], e["train_loss"], e["eval_loss"]) for e in epochs),
        best_epoch=best,
        stats=TrainingStats(result.stats.get("wall_seconds"), stats),
        environment=Environment.from_dict(environment(Path(config.source).parent if config.source else ".")),
    )
