"""``harness.yaml`` and ``lora.yaml`` are checked in full when they load: every bad value is ``path:line`` and exit 2."""

from __future__ import annotations

import re

import pytest

from harness.cli.main import main
from harness.config.eval_config import load_eval_config
from harness.errors import ConfigError

BASE = """\
task: triage
cases: ./heldout.jsonl
variants:
  prompt-only: {kind: prompt}
  fine-tuned: {kind: adapter, adapter: ./cand}
scoring:
  fields: [category]
gate:
"""


@pytest.fixture
def write_config(tmp_path):
    (tmp_path / "heldout.jsonl").write_text("")

    def write(gate_lines: str, base: str = BASE):
        path = tmp_path / "harness.yaml"
        path.write_text(base + gate_lines)
        return path

    return write


@pytest.mark.parametrize(("gate", "line", "message"), [
    ("  confidence: 2\n", 9, "gate.confidence must be > 0 and <= 0.9999"),
    ("  min_cases: -3\n", 9, "gate.min_cases must be >= 1"),
    ("  margin: .nan\n", 9, "gate.margin must be float (a finite number)"),
    ("  alpha: .inf\n", 9, "gate.alpha must be float (a finite number)"),
    ("  primary: field_f1\n", 9, "gate.primary: no scorer emits metric 'field_f1'; known: "),
    ("  floors: {schema_vaild: 0.9}\n", 9, "gate.floors.schema_vaild: no scorer emits metric"),
    ("  bogus: 1\n", 9, "unknown key gate.bogus; allowed in gate: candidate, baselines"),
    ("  general: {tolerance: 2}\n", 9, "gate.general.tolerance must be >= 0 and <= 1"),
    ("  baselines: [prompt-only, gone]\n", 9, "gate.baselines: ['gone'] not usable"),
    ("  min_cases: 10\n  min_cases: 20\n", 10, "duplicate key gate.min_cases"),
])
def test_a_bad_gate_value_is_a_load_time_error_at_its_line(write_config, gate, line, message, capsys):
    path = write_config(gate)
    with pytest.raises(ConfigError) as info:
        load_eval_config(path)
    assert info.value.line == line and message in info.value.message
    # `harness eval` refuses it too (before: only the gate looked at the gate section), exit 2, one line
    assert main(["eval", "--config", str(path), "--limit", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"harness eval: {path}:{line}: ") and message in err and "\n" not in err


@pytest.mark.parametrize(("section", "message"), [
    ("scoring:\n  feilds: [a]\n", "unknown key scoring.feilds; allowed in scoring: schema, fields, style, exact_match"),
    ("decoding: {temperature: .nan}\n", "decoding.temperature must be float (a finite number)"),
    ("decoding: {max_new_tokens: 0}\n", "decoding.max_new_tokens must be >= 1"),
    ("backend: {kind: openai, concurrency: 0}\n", "backend.concurrency must be >= 1"),
    ("backend: {kind: local, batchsize: 4}\n", "unknown key backend.batchsize"),
])
def test_other_sections_are_checked_the_same_way(write_config, section, message):
    base = BASE.replace("scoring:\n  fields: [category]\ngate:\n", "")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_eval_config(write_config(section, base=base))
    assert info.value.line is not None


def test_paths_are_relative_to_the_config_file(write_config, tmp_path):
    config = load_eval_config(write_config("  general: {items: ./items.jsonl}\n"))
    assert config.cases == str(tmp_path / "heldout.jsonl")
    assert config.variants["fine-tuned"].adapter == str(tmp_path / "cand")
    assert config.rules is not None and config.rules.general_items == str(tmp_path / "items.jsonl")


def test_duplicate_keys_are_an_error_in_lora_yaml_too(tmp_path):
    from harness.training.config import load_config

    path = tmp_path / "lora.yaml"
    path.write_text("base_model: x\ndataset: ./train.jsonl\nlora:\n  r: 8\n  alpha: 16\n  r: 4\n")
    with pytest.raises(ConfigError, match="duplicate key lora.r") as info:
        load_config(path)
    assert info.value.line == 6
