"""lora.yaml validation: the seed's shape is valid; every error names key, line and remedy."""

from __future__ import annotations

import pytest
from harness.training.config import load_config

from harness.errors import ConfigError

SEED = """\
base_model: meta-llama/Llama-3.1-8B-Instruct
dataset: ./train.jsonl
lora:
  r: 16 # adapter rank, higher = more capacity, more params
  alpha: 32 # scaling factor, usually 2x r
  dropout: 0.05
  target_modules: # which layers get adapters
    - q_proj
    - v_proj
training:
  epochs: 3 # too many = memorization / overfit
  learning_rate: 2.0e-4
  batch_size: 8
  eval_split: 0.1 # hold out 10%, never train on your eval set
"""


FINITE = "must be float (a finite number)"


def write(tmp_path, text):
    path = tmp_path / "lora.yaml"
    path.write_text(text)
    return path


def test_the_seed_config_is_valid_as_written(tmp_path):
    config = load_config(write(tmp_path, SEED))
    assert config.base_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert config.dataset == str(tmp_path / "train.jsonl")
    assert (config.lora.r, config.lora.alpha, config.lora.dropout) == (16, 32.0, 0.05)
    assert config.lora.target_modules == ["q_proj", "v_proj"]
    assert (config.training.epochs, config.training.learning_rate, config.training.batch_size) == (3, 2e-4, 8)
    assert config.training.eval_split == 0.1


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("  r: 16", "  rank: 16"), ":4: bad-config: unknown key lora.rank; allowed in lora: r, alpha, dropout, target_modules"),
        (("training:", "trainig:"), ":10: bad-config: unknown key trainig; allowed in the top level: base_model, dataset"),
        (("  epochs: 3", "  epochs: three"), ":11: bad-config: training.epochs must be int"),
        (("  eval_split: 0.1", "  eval_split: 1.5"), ":14: bad-config: training.eval_split must be >= 0.01 and <= 0.9"),
        (("  batch_size: 8", "  batch_size: 0"), ":13: bad-config: training.batch_size must be >= 1"),
        (("base_model: meta-llama/Llama-3.1-8B-Instruct\n", ""), ": bad-config: missing required key base_model"),
        (("  dropout: 0.05", "  dropout: [0.05"), "invalid YAML"),
        (("    - q_proj\n    - v_proj", "    - 3"), "lora.target_modules must be list"),
        (("  batch_size: 8", "  batch_size: true"), "training.batch_size must be int"),
        (("  batch_size: 8", "  batch_size: 8\n  precision: fp16"),
         "training.precision must be one of auto, bf16, fp32"),
    ],
)
def test_config_errors_name_key_line_and_allowed_values(tmp_path, edit, expected):
    path = write(tmp_path, SEED.replace(*edit))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_all_linear_and_optional_keys(tmp_path):
    text = SEED.replace("  target_modules: # which layers get adapters\n    - q_proj\n    - v_proj\n",
                        "  target_modules: all-linear\n")
    text += "seed: 7\ntask: triage\nheldout: ./heldout.jsonl\nreplay: {dataset: ./general.jsonl, share: 0.2}\n"
    config = load_config(write(tmp_path, text))
    assert config.lora.target_modules == "all-linear"
    assert (config.seed, config.task, config.replay.share) == (7, "triage", 0.2)
    assert config.heldout == str(tmp_path / "heldout.jsonl")


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match=":1: bad-config: the top level must be a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="file-not-found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("learning_rate: 2.0e-4", "learning_rate: .nan"), f":12: bad-config: training.learning_rate {FINITE}"),
        (("learning_rate: 2.0e-4", "learning_rate: .inf"), f":12: bad-config: training.learning_rate {FINITE}"),
        (("learning_rate: 2.0e-4", "learning_rate: nan"), f":12: bad-config: training.learning_rate {FINITE}"),
        (("learning_rate: 2.0e-4", "learning_rate: -1.0e-4"), ":12: bad-config: training.learning_rate must be > 0 and <= 1"),
        (("learning_rate: 2.0e-4", "learning_rate: 0"), ":12: bad-config: training.learning_rate must be > 0 and <= 1"),
        (("learning_rate: 2.0e-4", "learning_rate: 3"), ":12: bad-config: training.learning_rate must be > 0 and <= 1"),
        (("  alpha: 32", "  alpha: 0"), ":5: bad-config: lora.alpha must be > 0"),
        (("  dropout: 0.05", "  dropout: .nan"), ":6: bad-config: lora.dropout must be float (a finite number)"),
        (("  batch_size: 8", "  batch_size: 8\n  warmup: .inf"), f":14: bad-config: training.warmup {FINITE}"),
        (("  batch_size: 8", "  batch_size: 8\n  lr_scheduler: exponential"),
         ":14: bad-config: training.lr_scheduler must be one of linear, cosine, constant"),
        (("  batch_size: 8", "  batch_size: 8\n  lr_scheduler: 3"), ":14: bad-config: training.lr_scheduler must be str"),
        (("training:", "seed: -1\ntraining:"), ":10: bad-config: seed must be >= 0 and <= 4294967295"),
        (("training:", "replay: {share: .nan}\ntraining:"), ":10: bad-config: replay.share must be float (a finite number)"),
        (("training:", "replay: {exclude: []}\ntraining:"), ":10: bad-config: replay.exclude must be list[str]"),
    ],
)
def test_numbers_that_would_fail_later_are_config_errors(tmp_path, edit, expected):
    path = write(tmp_path, SEED.replace(*edit))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}{expected}" in str(info.value)


def test_exponent_without_a_dot_is_a_number_and_schedulers_are_accepted(tmp_path):
    text = SEED.replace("learning_rate: 2.0e-4", "learning_rate: 1e-3").replace(
        "  batch_size: 8", "  batch_size: 8\n  lr_scheduler: cosine\n  warmup: 0.1")
    config = load_config(write(tmp_path, text))
    assert (config.training.learning_rate, config.training.lr_scheduler) == (1e-3, "cosine")
    assert load_config(write(tmp_path, SEED)).training.lr_scheduler == "linear"


def test_replay_sources_and_exclusions_resolve_against_the_config(tmp_path):
    text = SEED + ("replay: {prompts: builtin:replay, dataset: ./general.jsonl, share: 0.5, max_new_tokens: 64,\n"
                   "         exclude: [../general/items.jsonl]}\n")
    replay = load_config(write(tmp_path, text)).replay
    assert (replay.prompts, replay.share, replay.max_new_tokens) == ("builtin:replay", 0.5, 64)
    assert replay.dataset == str(tmp_path / "general.jsonl")
    assert replay.exclude == [str((tmp_path / "../general/items.jsonl").resolve())]
    relative = load_config(write(tmp_path, SEED + "replay: {prompts: ./prompts.jsonl}\n")).replay
    assert relative.prompts == str(tmp_path / "prompts.jsonl") and relative.exclude is None


def test_precision_auto_takes_bf16_only_where_the_cpu_computes_it_natively(monkeypatch, tmp_path):
    import torch
    from harness.training.trainer import resolved_precision, training_arguments

    assert resolved_precision("fp32", use_cuda=False) == "fp32" and resolved_precision("bf16", use_cuda=False) == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert resolved_precision("auto", use_cuda=False) == "fp32"
    config = load_config(write(tmp_path, SEED))
    assert config.training.precision == "auto"
    assert not training_arguments(config, str(tmp_path / "out"), use_cuda=False).bf16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    assert resolved_precision("auto", use_cuda=False) == "bf16"
    assert training_arguments(config, str(tmp_path / "out"), use_cuda=False).bf16


@pytest.mark.parametrize("task", ["triage", "house_style"])
def test_the_demo_suites_train_into_the_registry_they_deploy_from(task):
    """`harness train suites/<task>/lora.yaml` then `harness decide --promote` from the repository root: the
    candidate must land in ./candidates, the registry promotion reads (a candidate beside its lora.yaml cannot be
    deployed); and fp32, whose verdicts held across seeds and reproduce on CPUs without bf16."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "suites" / task / "lora.yaml")
    assert Path(config.output_dir).resolve() == root / "candidates"  # registry_root() without $HARNESS_REGISTRY
    assert config.training.precision == "fp32"
