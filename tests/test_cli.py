"""``harness`` exit codes: 0 ok, 1 findings, 2 usage or input error (never a traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.models import EMBEDDED

LINT = Path(__file__).parent / "fixtures" / "lint"


def lint(*args: str) -> int:
    return main(["lint", *map(str, args), "--model", "none"])


@pytest.fixture
def clean(write_jsonl, make_chat) -> Path:
    return write_jsonl("clean.jsonl", [make_chat(f"What is {i} times three?", f"{3 * i}.") for i in range(120)])


def test_lint_clean_file_exits_0_even_when_strict(clean, capsys):
    assert lint(clean) == 0
    assert lint(clean, "--strict") == 0
    out = capsys.readouterr().out
    assert "120 examples: 0 errors, 0 warnings" in out


def test_lint_with_errors_exits_1_and_prints_path_line_code(capsys):
    fixture = LINT / "invalid-json.jsonl"
    assert lint(fixture) == 1
    assert f"{fixture}:2: invalid-json: " in capsys.readouterr().out


def test_lint_warnings_only_exit_0_and_1_with_strict(capsys):
    fixture = LINT / "fresh-facts.jsonl"
    assert lint(fixture) == 0
    assert lint(fixture, "--strict") == 1
    assert "0 errors, 2 warnings" in capsys.readouterr().out


def test_lint_schema_and_heldout_options(capsys):
    assert lint(LINT / "schema-violation.jsonl", "--schema", LINT / "schema.json") == 1
    assert lint(LINT / "heldout-train.jsonl", "--heldout", LINT / "heldout-leak.jsonl") == 1
    out = capsys.readouterr().out
    assert ":2: schema-violation: " in out and "heldout-leak.jsonl:2: heldout-leak: " in out
    assert "3 examples (+2 held out)" in out


def test_lint_missing_file_exits_2_without_traceback(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    assert lint(missing) == 2
    captured = capsys.readouterr()
    assert f"{missing}: file-not-found: " in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["lint", str(LINT / "duplicate.jsonl"), "--no-such-option"])
    assert caught.value.code == 2
    assert "--no-such-option" in capsys.readouterr().err


def test_bad_schema_json_exits_2_with_path_and_line(tmp_path, capsys):
    schema = tmp_path / "schema.json"
    schema.write_text('{\n  "type": "object",\n  "required": ["label"\n}\n')
    assert lint(LINT / "schema-violation.jsonl", "--schema", schema) == 2
    err = capsys.readouterr().err
    assert f"{schema}:4: bad-schema: invalid JSON" in err and "Traceback" not in err


@pytest.mark.parametrize("make_bad", [
    lambda p: p.write_text('{"type": "no-such-type"}'),
    lambda p: p.mkdir(),
    lambda p: p.write_bytes(b'{"title": "caf\xe9"}'),
    lambda p: p.write_text("5"),
    lambda p: p.write_text("null"),
], ids=["invalid-schema", "directory", "not-utf8", "number", "null"])
def test_unusable_schema_file_exits_2(tmp_path, capsys, make_bad):
    schema = tmp_path / "schema.json"
    make_bad(schema)
    assert lint(LINT / "schema-violation.jsonl", "--schema", schema) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"harness lint: {schema}: ") and err.count("\n") == 1


def test_split_then_split_again_over_existing_outputs(clean, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["split", str(clean), "--eval-split", "0.1", "--out", str(out)]
    assert main(argv) == 0
    assert "split.json" in capsys.readouterr().out
    before = (out / "train.jsonl").read_bytes()
    assert main([*argv, "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "output-exists" in err and "--force" in err
    assert (out / "train.jsonl").read_bytes() == before
    assert main([*argv, "--seed", "5", "--force"]) == 0


def test_split_bad_eval_split_exits_2(clean, tmp_path, capsys):
    assert main(["split", str(clean), "--eval-split", "1.5", "--out", str(tmp_path / "out")]) == 2
    assert "bad-eval-split" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_models_prepare_unknown_model_exits_2_naming_the_aliases(capsys):
    assert main(["models", "prepare", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "no-such-model" in err and "model-unavailable" in err
    assert all(alias in err for alias in EMBEDDED)


@pytest.mark.slow
def test_console_script_runs_and_reports_bad_input_without_traceback(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "harness", "lint", str(LINT / "duplicate.jsonl"), "--model", "none"],
        capture_output=True, text=True, timeout=60,
    )
    assert ok.returncode == 0 and ":3: duplicate: " in ok.stdout
    missing = tmp_path / "missing.jsonl"
    bad = subprocess.run(
        [sys.executable, "-m", "harness", "lint", str(missing), "--model", "none"],
        capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 2
    assert f"{missing}: file-not-found: " in bad.stderr and "Traceback" not in bad.stderr
