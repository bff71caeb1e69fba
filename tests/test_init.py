"""``harness init`` writes configs that load, a stable split and a gate suite; ``builtin:`` names resolve to package data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness.training.config import load_config

from harness.cli.main import main
from harness.config.eval_config import load_eval_config
from harness.config.file import BUILTINS, builtin_names, builtin_path
from harness.data.load import load_examples
from harness.data.split import assign
from harness.errors import ConfigError
from tests.tiny import write_triage_file

SCHEMA = {"type": "object", "required": ["category"],
          "properties": {"category": {"enum": ["billing", "account", "bug", "how_to"]}, "priority": {"type": "string"},
                         "needs_human": {"type": "boolean"}}}


@pytest.fixture
def tickets_project(tmp_path, monkeypatch):
    """A project folder (not this repository) with tickets.jsonl and schema.json, as the working directory."""
    monkeypatch.chdir(tmp_path)
    write_triage_file(tmp_path / "tickets.jsonl", 80)
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    return tmp_path


def test_init_writes_configs_the_validators_accept_and_the_stable_split(tickets_project, capsys):
    assert main(["init", "--data", "tickets.jsonl", "--schema", "schema.json", "--task", "tickets"]) == 0
    suite = tickets_project / "suites" / "tickets"
    config = load_eval_config(suite / "harness.yaml")
    assert set(config.variants) == {"prompt-only", "rag", "fine-tuned"} and config.variants["rag"].kind == "rag"
    assert config.scoring.fields == ("category", "needs_human")  # categorical properties only
    assert config.scoring.schema == str(tickets_project / "schema.json")
    rules = config.rules
    assert rules is not None and rules.primary == "field_macro_f1" and rules.baselines == ("prompt-only", "rag")
    assert rules.general.items == builtin_path("builtin:general") and Path(rules.general.items).is_file()
    assert rules.forgetting.text == builtin_path("builtin:general-text")
    train = load_config(suite / "lora.yaml")
    assert train.dataset == str(suite / "data" / "train.jsonl") and train.heldout == config.cases
    assert train.task == "tickets" and train.output_dir == str(tickets_project / "candidates")
    expected = assign(load_examples(tickets_project / "tickets.jsonl"), 0.1, 0)  # the same stable split as `harness split`
    assert len(load_examples(config.cases)) == len(expected.heldout) > 0
    assert [e.messages for e in load_examples(train.dataset)] == [e.messages for e in expected.train]
    test_file = (suite / "test_tickets_gate.py").read_text()
    compile(test_file, "test_tickets_gate.py", "exec")
    assert 'harness_gate.require("schema_valid floor")' in test_file and 'harness_suite("tickets"' in test_file
    assert 'require("fields no worse than rag")' in test_file  # per-field non-inferiority, where fields are scored
    assert "will say inconclusive" in capsys.readouterr().out  # fewer than min_cases held out


@pytest.mark.slow
def test_without_a_schema_scoring_is_exact_match_and_a_local_model_path_is_kept(tickets_project, tiny_checkpoint):
    out = tickets_project / "elsewhere"
    assert main(["init", "--data", "tickets.jsonl", "--task", "t1", "--out", str(out), "--model", str(tiny_checkpoint)]) == 0
    config = load_eval_config(out / "harness.yaml")
    assert config.scoring.exact_match and config.rules is not None and config.rules.primary == "exact_match"
    assert config.model == str(tiny_checkpoint) and load_config(out / "lora.yaml").base_model == str(tiny_checkpoint)
    test_file = (out / "test_t1_gate.py").read_text()
    assert "schema_valid" not in test_file and "fields no worse" not in test_file


def test_existing_files_are_kept_without_force(tickets_project, capsys):
    args = ["init", "--data", "tickets.jsonl", "--task", "tickets"]
    assert main(args) == 0
    lora = tickets_project / "suites/tickets/lora.yaml"
    lora.write_text("# edited by hand\n")
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "output-exists" in err and "lora.yaml" in err and "--force" in err
    assert lora.read_text() == "# edited by hand\n"
    assert main([*args, "--force"]) == 0 and "base_model" in lora.read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "bad.jsonl", "--task", "x"], "bad.jsonl:3: invalid-json"),
    (["--data", "missing.jsonl", "--task", "x"], "missing.jsonl: file-not-found"),
    (["--data", "tickets.jsonl", "--task", "x", "--schema", "bad_schema.json"], "bad_schema.json:1: bad-schema"),
    (["--data", "tickets.jsonl", "--task", "../x"], "bad-option: task name '../x'"),
])
def test_bad_input_is_one_line_with_path_and_exit_2(tickets_project, capsys, args, message):
    good = (tickets_project / "tickets.jsonl").read_text().splitlines()
    (tickets_project / "bad.jsonl").write_text("\n".join([*good[:2], "{not json", *good[2:5]]) + "\n")
    (tickets_project / "bad_schema.json").write_text("{oops")
    assert main(["init", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tickets_project / "suites").exists()  # nothing written


def test_unknown_builtin_is_a_config_error_at_its_line_listing_the_known_names(tmp_path):
    (tmp_path / "h.yaml").write_text("task: t\ncases: ./c.jsonl\nvariants:\n  p: {kind: prompt}\n"
                                     "gate:\n  general: {items: builtin:generl}\n")
    with pytest.raises(ConfigError) as raised:
        load_eval_config(tmp_path / "h.yaml")
    assert str(raised.value).startswith(f"{tmp_path / 'h.yaml'}:6: unknown-builtin: gate.general.items: ")
    assert "'builtin:generl'; known: builtin:general, builtin:general-text" in str(raised.value)
    assert {"general", "general-text"} <= set(BUILTINS) and "builtin:general" in builtin_names()
