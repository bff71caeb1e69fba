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
    assert config.rules is not None and config.rules.general.items == str(tmp_path / "items.jsonl")


def test_duplicate_keys_are_an_error_in_lora_yaml_too(tmp_path):
    from harness.training.config import load_config

    path = tmp_path / "lora.yaml"
    path.write_text("base_model: x\ndataset: ./train.jsonl\nlora:\n  r: 8\n  alpha: 16\n  r: 4\n")
    with pytest.raises(ConfigError, match="duplicate key lora.r") as info:
        load_config(path)
    assert info.value.line == 6


@pytest.mark.parametrize(("gate", "expected"), [
    ("  margin: 1e-3\n", 0.001),  # YAML 1.1 reads an exponent without a dot as a string: the number it means
    ("  margin: '-2E-2'\n", -0.02),
    ("  margin: 0\n", 0.0),
])
def test_a_float_given_as_a_plain_number_string_is_that_number_in_harness_yaml_too(write_config, gate, expected):
    config = load_eval_config(write_config(gate))
    assert config.gate.margin == expected and isinstance(config.gate.margin, float)


@pytest.mark.parametrize("value", ["true", "'nan'", "'inf'", "'1_0'", "'0x10'", "'1e-3 apples'", ".nan"])
def test_anything_else_is_not_a_number(write_config, value):
    with pytest.raises(ConfigError, match="gate.margin must be float \\(a finite number\\)"):
        load_eval_config(write_config(f"  margin: {value}\n"))


def test_lora_yaml_follows_the_same_number_rule(tmp_path):
    from harness.training.config import load_config

    path = tmp_path / "lora.yaml"
    path.write_text("base_model: x\ndataset: ./train.jsonl\ntraining: {learning_rate: 1e-3, warmup: '5'}\n")
    assert load_config(path).training.learning_rate == 0.001 and load_config(path).training.warmup == 5.0
    for bad in ("true", "'1_0'", ".inf"):
        path.write_text(f"base_model: x\ndataset: ./train.jsonl\ntraining: {{learning_rate: {bad}}}\n")
        with pytest.raises(ConfigError, match=":3: bad-config: training.learning_rate must be float \\(a finite number\\)"):
            load_config(path)
    path.write_text("base_model: x\ndataset: ./train.jsonl\ntraining: {epochs: '3'}\n")  # ints stay strict
    with pytest.raises(ConfigError, match="training.epochs must be int"):
        load_config(path)


def test_each_variant_kind_has_its_own_keys(write_config, tmp_path):
    from harness.config.eval_config import AdapterVariant, PromptVariant, RagVariant, with_adapters

    base = BASE.replace("  fine-tuned: {kind: adapter, adapter: ./cand}\n",
                        "  fine-tuned: {kind: adapter, adapter: ./cand}\n  deployed: {kind: adapter, adapter: current:triage}\n"
                        "  rag: {kind: rag, corpus: ./train.jsonl, k: 2}\n"
                        "  shots: {kind: prompt, few_shot: [{user: hi, assistant: hello}]}\n")
    config = load_eval_config(write_config("  candidate: fine-tuned\n", base=base))
    variants = config.variants
    assert isinstance(variants["prompt-only"], PromptVariant) and variants["prompt-only"].few_shot == ()
    assert variants["shots"].few_shot == (("hi", "hello"),) and variants["shots"].adapter is None
    assert isinstance(variants["rag"], RagVariant) and variants["rag"].corpus == str(tmp_path / "train.jsonl")
    assert (variants["rag"].k, variants["rag"].corpus_kind, variants["rag"].kind) == (2, "examples", "rag")
    assert isinstance(variants["fine-tuned"], AdapterVariant) and variants["fine-tuned"].adapter == str(tmp_path / "cand")
    assert variants["deployed"].adapter == "current:triage"  # a registry reference stays as written
    moved = with_adapters(config, {"deployed": tmp_path / "other"})
    assert moved.variants["deployed"].adapter == str(tmp_path / "other") and moved.variants["rag"] == variants["rag"]


@pytest.mark.parametrize(("variant", "message"), [
    ("{kind: prompt, corpus: ./x.jsonl}", "unknown key variants.v.corpus; allowed in variants.v: kind, system, few_shot"),
    ("{kind: adapter, few_shot: []}", "unknown key variants.v.few_shot; allowed in variants.v: kind, system, adapter"),
    ("{kind: rag, k: 2}", "missing required key variants.v.corpus in variants.v"),
    ("{kind: adapter}", "missing required key variants.v.adapter in variants.v"),
    ("{kind: rag, corpus: ./x.jsonl, k: 0}", "variants.v.k must be >= 1"),
    ("{kind: adapter, adapter: 3}", "variants.v.adapter must be a non-empty string"),
    ("{kind: prompt, few_shot: [hi]}", "variants.v.few_shot must be a list of {user: ..., assistant: ...}"),
    ("{kind: lora}", "variants.v.kind must be one of prompt, rag, adapter"),
])
def test_a_variant_is_checked_against_its_kind(write_config, variant, message):
    base = BASE.replace("  prompt-only: {kind: prompt}\n", f"  prompt-only: {{kind: prompt}}\n  v: {variant}\n")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_eval_config(write_config("", base=base))
    assert info.value.line == 5
