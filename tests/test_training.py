"""Training on a tiny random-weight model: the mechanics of a candidate adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from harness.training import load_config, train_candidate
from harness.training.data import DatasetRejected, prepare_sets
from safetensors.torch import load_file

from harness.cli.main import main
from harness.manifests import read_candidate_manifest
from tests.tiny import triage_line, write_triage_file

CONFIG = """\
base_model: ./model
dataset: ./train.jsonl
lora: {{r: 8, alpha: 16, dropout: 0.0, target_modules: [q_proj, v_proj]}}
training: {{epochs: {epochs}, learning_rate: 2.0e-2, batch_size: 8, eval_split: 0.2}}
output_dir: ./candidates
task: triage
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_checkpoint) -> Path:
    folder = tmp_path_factory.mktemp("train")
    (folder / "model").symlink_to(tiny_checkpoint)
    write_triage_file(folder / "train.jsonl", 120)
    (folder / "lora.yaml").write_text(CONFIG.format(epochs=3))
    return folder


@pytest.fixture(scope="module")
def candidate(workdir) -> Path:
    return train_candidate(load_config(workdir / "lora.yaml"))


@pytest.mark.slow
def test_candidate_has_the_promised_files(candidate):
    names = {p.name for p in candidate.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "chat_template.jinja",
            "config.yaml", "metrics.jsonl", "manifest.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in names)


@pytest.mark.slow
def test_eval_loss_goes_down_and_best_epoch_is_recorded(candidate):
    manifest = json.loads((candidate / "manifest.json").read_text())
    epochs = manifest["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["eval_loss"] < epochs[0]["eval_loss"]
    assert manifest["best_epoch"] == min(epochs, key=lambda e: e["eval_loss"])["epoch"]
    assert manifest["stats"]["tokens_per_second"] > 0
    assert manifest["data"]["dataset_sha256"] and manifest["chat_template_sha256"]
    assert manifest["base_model"]["weights_sha256"]["model.safetensors"]
    typed = read_candidate_manifest(candidate)  # the typed reader reads back exactly what the writer wrote
    assert typed.to_dict() == manifest and manifest["schema_version"] == 1 and manifest["kind"] == "harness-candidate"
    assert typed.wall_seconds == manifest["stats"]["wall_seconds"] and typed.best_epoch == manifest["best_epoch"]


@pytest.mark.slow
def test_lora_weights_change_and_base_weights_do_not(candidate, workdir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = load_file(candidate / "adapter_model.safetensors")
    lora_b = [t for name, t in adapter.items() if "lora_B" in name]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)  # lora_B starts at zero
    base = AutoModelForCausalLM.from_pretrained(workdir / "model")
    before = {k: v.clone() for k, v in base.state_dict().items()}
    tuned = PeftModel.from_pretrained(base, candidate)
    after = tuned.get_base_model().state_dict()
    for name, tensor in before.items():
        key = name if name in after else name.replace(".weight", ".base_layer.weight")
        torch.testing.assert_close(after[key], tensor)


@pytest.mark.slow
def test_adapter_changes_the_outputs(candidate, workdir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(workdir / "model").eval()
    ids = torch.tensor([[1, 20, 30, 40]])
    with torch.inference_mode():
        plain = base(ids).logits.clone()
        tuned = PeftModel.from_pretrained(base, candidate).eval()
        adapted = tuned(ids).logits
    assert not torch.allclose(plain, adapted)


@pytest.mark.slow
def test_heldout_examples_never_reach_training(workdir, tmp_path):
    train = (workdir / "train.jsonl").read_text().splitlines()
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(train[5] + "\n" + triage_line("totally unrelated question about exports", "how_to") + "\n")
    config = load_config(workdir / "lora.yaml", overrides={"heldout": str(heldout)})
    with pytest.raises(DatasetRejected) as info:
        prepare_sets(config)
    assert [f.code for f in info.value.findings] == ["heldout-leak"]
    assert info.value.findings[0].line == 1


@pytest.mark.slow
def test_clean_heldout_is_recorded_by_hash(workdir, tmp_path):
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(triage_line("where do I find the audit log for my workspace", "how_to") + "\n")
    sets = prepare_sets(load_config(workdir / "lora.yaml", overrides={"heldout": str(heldout)}))
    assert sets.provenance["heldout"]["examples"] == 1 and len(sets.provenance["heldout"]["sha256"]) == 64
    assert len(sets.train) + len(sets.validation) == 120 and sets.validation


@pytest.mark.slow
def test_interrupted_run_leaves_no_candidate(workdir, tmp_path, monkeypatch):

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import harness.training.candidate as candidate_module

    monkeypatch.setattr(candidate_module, "epoch_losses", interrupted)
    config = load_config(workdir / "lora.yaml", overrides={"output_dir": str(tmp_path / "out")})
    config.training.epochs = 1
    with pytest.raises(KeyboardInterrupt):
        train_candidate(config)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_dataset_failing_lint_stops_the_run_with_findings(workdir, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(triage_line("hello", "other") + "\nnot json\n")
    config = tmp_path / "lora.yaml"
    config.write_text(f"base_model: {workdir / 'model'}\ndataset: {bad}\n")
    assert main(["train", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: invalid-json" in err and "fails lint" in err


@pytest.mark.slow
def test_unknown_target_module_lists_the_model_modules(workdir, tmp_path, capsys):
    config = tmp_path / "lora.yaml"
    config.write_text(f"base_model: {workdir / 'model'}\ndataset: {workdir / 'train.jsonl'}\n"
                      "lora: {target_modules: [qproj]}\n")
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert "'qproj' is not a module of LlamaForCausalLM" in err
    assert "available: down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj" in err


@pytest.mark.slow
def test_replay_examples_are_mixed_into_training_only(workdir, tmp_path):
    general = write_triage_file(tmp_path / "general.jsonl", 40, offset=5000)
    config = load_config(workdir / "lora.yaml")
    config.replay.dataset, config.replay.share = str(general), 0.25
    sets = prepare_sets(config)
    task_train = 120 - len(sets.validation)
    assert sets.provenance["replay_examples"] == round(task_train * 0.25)
    assert len(sets.train) == task_train + sets.provenance["replay_examples"]
    assert all("general.jsonl" not in e.path for e in sets.validation)


@pytest.mark.slow
def test_hf_dataset_keeps_source_and_weights(workdir):
    from harness.data import load_examples
    from harness.data.hf import to_hf_dataset

    dataset = to_hf_dataset(load_examples(workdir / "train.jsonl")[:3])
    assert dataset["source"][0].endswith("train.jsonl:1")
    assert [m["role"] for m in dataset["messages"][0]] == ["system", "user", "assistant"]
    assert dataset["messages"][0][2]["weight"] == 1


@pytest.mark.parametrize(("lines", "split", "expected"), [
    (0, 0.2, ":0: dataset-too-small: the dataset has no examples"),
    (1, 0.2, ":1: dataset-too-small: the dataset has one example"),
    (3, 0.01, ":0: dataset-too-small: none of the 3 examples falls on the validation side"),
])
def test_datasets_too_small_are_refused_before_the_model_loads(tmp_path, capsys, lines, split, expected):
    data = write_triage_file(tmp_path / "train.jsonl", lines) if lines else tmp_path / "train.jsonl"
    data.touch()
    config = tmp_path / "lora.yaml"
    config.write_text(f"base_model: ./no-such-model\ndataset: ./train.jsonl\ntraining: {{eval_split: {split}}}\n")
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{data}{expected}" in err and "Traceback" not in err and "no-such-model" not in err


@pytest.mark.parametrize(("name", "peak_at_end", "half_way"), [("linear", False, 0.5), ("cosine", False, 0.5),
                                                                ("constant", True, 1.0)])
@pytest.mark.slow
def test_lr_scheduler_shapes_the_learning_rate_after_warmup(workdir, tmp_path, name, peak_at_end, half_way):
    from harness.training.trainer import training_arguments
    from transformers import get_scheduler

    config = load_config(workdir / "lora.yaml")
    config.training.lr_scheduler, config.training.warmup = name, 10
    args = training_arguments(config, str(tmp_path), use_cuda=False)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=args.learning_rate)
    scheduler = get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=args.get_warmup_steps(110),
                              num_training_steps=110)
    rates = []
    for _ in range(110):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    peak = config.training.learning_rate
    assert rates[0] == 0 and rates[5] == pytest.approx(peak / 2) and rates[10] == pytest.approx(peak)  # warmup
    assert rates[60] == pytest.approx(peak * half_way, rel=0.02)
    assert (rates[-1] == pytest.approx(peak)) == peak_at_end


def scratch_folders(out: Path) -> list[Path]:
    return sorted(out.glob(".train-*.partial")) if out.exists() else []


def start_training(workdir: Path, tmp_path: Path) -> tuple[object, Path]:
    """A real `harness train` subprocess on the tiny model, returned once its training loop runs."""
    import os
    import re
    import subprocess
    import sys
    import time

    config = tmp_path / "lora.yaml"
    config.write_text(CONFIG.format(epochs=200).replace("./", f"{workdir}/").replace(
        f"output_dir: {workdir}/candidates", f"output_dir: {tmp_path}/out"))
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    # stderr to a file, not a pipe: a pipe nobody reads fills with progress bars and blocks the child's
    # writes, so it could never finish unwinding after the signal (seen on a fast CPU)
    log = tmp_path / "stderr.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "harness", "train", str(config)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    deadline = time.monotonic() + 120
    seen = ""
    steps = re.compile(r" [1-9]\d*/\d{4,} \[")  # the Trainer's bar (2,400 steps) past its first step; not the
    # "Loading weights ... it/s" bar: a SIGTERM during the model load was seen swallowed (issue 27: killed at any moment)
    while not steps.search(seen) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        seen = log.read_text(errors="replace")
    assert process.poll() is None, "training ended before it could be killed"
    return process, tmp_path / "out"


@pytest.mark.slow
def test_sigterm_mid_training_leaves_no_scratch_folder(workdir, tmp_path):
    import signal

    process, out = start_training(workdir, tmp_path)
    assert len(scratch_folders(out)) == 1  # the checkpoints live inside the output folder, hidden
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) != 0
    assert list(out.iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.slow
def test_sigkill_mid_training_leaves_only_a_hidden_scratch_folder_that_the_next_run_removes(workdir, tmp_path):
    import signal

    process, out = start_training(workdir, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    stale = scratch_folders(out)
    assert len(stale) == 1 and [p for p in out.iterdir()] == stale  # nothing that looks like a candidate
    assert list((tmp_path / "tmp").iterdir()) == []  # nothing in the system temporary folder either
    config = load_config(workdir / "lora.yaml", overrides={"output_dir": str(out)})
    config.training.epochs = 1
    candidate = train_candidate(config)
    assert scratch_folders(out) == [] and list(out.iterdir()) == [candidate]


@pytest.mark.slow
def test_output_dir_that_is_a_file_is_refused_before_training(workdir, tmp_path, capsys):
    taken = tmp_path / "out"
    taken.write_text("not a folder")
    assert main(["train", str(workdir / "lora.yaml"), "--output-dir", str(taken)]) == 2
    assert f"{taken}: not-a-folder: " in capsys.readouterr().err  # refused before any training
