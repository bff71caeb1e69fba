"""`harness train` under torchrun: two CPU processes (gloo) train one candidate with data parallelism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness.training import load_config
from harness.training.distributed import World, effective_batch_size, on_main, world

from tests.tiny import write_triage_file

CONFIG = """\
base_model: ./model
dataset: ./train.jsonl
lora: {r: 4, alpha: 8, dropout: 0.0, target_modules: [q_proj, v_proj]}
training: {epochs: 1, learning_rate: 2.0e-2, batch_size: 3, gradient_accumulation: 2, eval_split: 0.25}
output_dir: ./candidates
task: triage
"""


def test_a_single_process_is_its_own_main(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert world() == World(0, 1) and world().is_main
    assert on_main(lambda: "written") == "written"
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert not world().is_main and effective_batch_size(4, 2, world().size) == 32


@pytest.fixture(scope="module")
def launched(tmp_path_factory, tiny_checkpoint) -> tuple[Path, str]:
    """A folder with lora.yaml, trained by ``torchrun --nproc_per_node 2 -m harness train``; and its stdout."""
    folder = tmp_path_factory.mktemp("ddp")
    (folder / "model").symlink_to(tiny_checkpoint)
    write_triage_file(folder / "train.jsonl", 40)  # 9 validation examples: rank 0 evaluates 6 of them, rank 1 3
    (folder / "lora.yaml").write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "harness", "train",
                           "lora.yaml"], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, done.stdout


@pytest.mark.slow
def test_torchrun_two_processes_write_one_candidate(launched, monkeypatch):
    folder, stdout = launched
    [printed] = stdout.split()  # the main process alone prints the path
    [candidate] = (folder / "candidates").iterdir()
    assert Path(printed) == candidate and not candidate.name.startswith(".")
    manifest = json.loads((candidate / "manifest.json").read_text())
    assert manifest["stats"]["world_size"] == 2 and manifest["stats"]["effective_batch_size"] == 3 * 2 * 2
    monkeypatch.chdir(folder)
    config = load_config("lora.yaml")  # the same config file as a single-process run
    assert yaml.safe_load((candidate / "config.yaml").read_text()) == config.to_dict()
    assert [e["epoch"] for e in manifest["epochs"]] == [1] and manifest["stats"]["validation_examples"] == 9


@pytest.mark.slow
def test_distributed_eval_loss_equals_one_process_evaluation_of_the_saved_adapter(launched, monkeypatch):
    """The whole validation set, gathered from both ranks (with average_tokens_across_devices it was not: see trainer.py)."""
    folder, _ = launched
    [candidate] = (folder / "candidates").iterdir()
    [epoch] = json.loads((candidate / "manifest.json").read_text())["epochs"]
    monkeypatch.chdir(folder)
    loss, count = whole_validation_loss(load_config("lora.yaml"), candidate)
    assert count == 9 and epoch["eval_loss"] == pytest.approx(loss, abs=2e-4)


def whole_validation_loss(config, candidate: Path) -> tuple[float, int]:
    """Eval loss of the saved adapter over the whole validation set, in one process."""
    from harness.training.data import prepare_sets, tokenize_all
    from harness.training.trainer import training_arguments
    from peft import PeftModel
    from transformers import DataCollatorForSeq2Seq, Trainer

    from harness.models import ensure_pad_token, load_model

    base = load_model(config.base_model)
    ensure_pad_token(base.tokenizer, base.model)
    model = PeftModel.from_pretrained(base.model, candidate)
    validation = tokenize_all(base.tokenizer, prepare_sets(config).validation, config.training.max_length)
    trainer = Trainer(model=model, args=training_arguments(config, str(candidate.parent / "eval"), use_cuda=False),
                      eval_dataset=validation,
                      data_collator=DataCollatorForSeq2Seq(base.tokenizer, padding=True, label_pad_token_id=-100))
    return float(trainer.evaluate()["eval_loss"]), len(validation)
