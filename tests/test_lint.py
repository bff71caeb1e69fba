"""``harness lint``: one fixture per code, every finding at once, sorted, JSON shape, leakage."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.data.codes import CODES
from harness.data.lint import LintOptions, lint
from harness.data.load import parse_jsonl
from harness.data.schema import OutputSchema
from harness.data.tokens import TokenCounter

LINT = Path(__file__).parent / "fixtures" / "lint"
HELDOUT_TRAIN = LINT / "heldout-train.jsonl"
FILE_LEVEL = "too-few-examples"
WARNINGS = {"duplicate", "too-few-examples", "too-long", "fresh-facts"}  # every other code is an error

# code -> (1-based line that triggers it, what the fixture is linted with)
CASES: dict[str, tuple[int, str]] = {
    "invalid-json": (2, "plain"),
    "not-object": (2, "plain"),
    "messages-missing": (1, "plain"),
    "unknown-key": (2, "plain"),
    "bad-metadata": (2, "plain"),  # line 1 carries a valid metadata object: no finding
    "unknown-role": (2, "plain"),
    "bad-content": (2, "plain"),
    "role-order": (2, "plain"),
    "no-assistant": (2, "plain"),
    "output-not-json": (2, "schema"),
    "schema-violation": (2, "schema"),
    "conflicting-outputs": (3, "plain"),
    "heldout-leak": (2, "heldout"),
    "heldout-near-leak": (2, "heldout"),
    "duplicate": (3, "plain"),
    "too-few-examples": (0, "plain"),
    "no-examples": (0, "plain"),
    "fresh-facts": (2, "plain"),
}


def _lint_fixture(code: str, how: str):
    fixture = str(LINT / f"{code}.jsonl")
    if how == "schema":
        return fixture, lint(fixture, LintOptions(schema=OutputSchema.from_file(LINT / "schema.json")))
    if how == "heldout":
        return fixture, lint(str(HELDOUT_TRAIN), LintOptions(heldout=fixture))
    return fixture, lint(fixture)


def test_every_code_has_a_case_and_a_fixture():
    assert set(CASES) | {"too-long"} == set(CODES)
    for code in CODES:
        assert (LINT / f"{code}.jsonl").is_file(), code


@pytest.mark.parametrize("code", sorted(CASES))
def test_fixture_yields_its_code_at_its_line(code):
    line, how = CASES[code]
    fixture, report = _lint_fixture(code, how)
    mine = [f for f in report.findings if f.path == fixture]
    if code != FILE_LEVEL:
        mine = [f for f in mine if f.code != FILE_LEVEL]
    assert [(f.line, f.code) for f in mine] == [(line, code)], [str(f) for f in mine]
    assert mine[0].severity == ("warning" if code in WARNINGS else "error")
    assert mine[0].message.strip()


def test_heldout_train_fixture_is_clean_apart_from_its_size():
    report = lint(str(HELDOUT_TRAIN))
    assert [f.code for f in report.findings] == [FILE_LEVEL]


def test_enough_distinct_clean_examples_give_no_findings(write_jsonl, make_chat):
    rows = [make_chat(f"What is {i} plus {i}?", f"It is {2 * i}.") for i in range(100)]
    report = lint(str(write_jsonl("clean.jsonl", rows)))
    assert report.findings == []
    assert report.summary["examples"] == 100
    assert not report.failed(strict=True)


def test_all_findings_are_reported_at_once_sorted_by_line():
    report = lint(str(LINT / "several-problems.jsonl"))
    got = [(f.line, f.code) for f in report.findings]
    assert got == [
        (0, "too-few-examples"),
        (2, "duplicate"),
        (3, "invalid-json"),
        (5, "unknown-key"),
        (5, "unknown-role"),
        (6, "fresh-facts"),
        (7, "role-order"),
    ]
    assert report.summary["errors"] == 4 and report.summary["warnings"] == 3
    assert report.failed() and report.failed(strict=True)


def test_training_findings_come_before_heldout_findings(tmp_path):
    train, heldout = tmp_path / "z-train.jsonl", tmp_path / "a-heldout.jsonl"
    train.write_text((LINT / "duplicate.jsonl").read_text())
    heldout.write_text((LINT / "invalid-json.jsonl").read_text())
    report = lint(train, LintOptions(heldout=str(heldout)))  # a Path works like a str
    paths = [f.path for f in report.findings]
    assert paths == sorted(paths, key=lambda p: p != str(train))
    assert [f.line for f in report.findings if f.path == str(train)] == [0, 3]
    assert report.summary["heldout_examples"] == 1


def test_warnings_only_fail_only_when_strict():
    report = lint(str(LINT / "duplicate.jsonl"))
    assert {f.severity for f in report.findings} == {"warning"}
    assert not report.failed()
    assert report.failed(strict=True)


def test_json_format_shape_and_counts(capsys):
    fixture = str(LINT / "several-problems.jsonl")
    assert main(["lint", fixture, "--format", "json", "--model", "none"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"findings", "summary"}
    findings = document["findings"]
    assert all(set(f) == {"path", "line", "code", "severity", "message"} for f in findings)
    assert all(f["path"] == fixture and isinstance(f["line"], int) for f in findings)
    summary = document["summary"]
    assert summary["by_code"] == dict(Counter(f["code"] for f in findings))
    assert summary["errors"] == sum(f["severity"] == "error" for f in findings) == 4
    assert summary["warnings"] == sum(f["severity"] == "warning" for f in findings) == 3
    assert summary["examples"] == 3  # lines 1, 2 and 6 pass the chat format


LONG_INPUT = (
    "Our team ships the nightly build at two in the morning, and since last Tuesday the deploy step fails "
    "with a timeout while uploading the artifacts to the storage bucket. What should we check first?"
)


@pytest.mark.parametrize(
    ("heldout_input", "flagged"),
    [
        (LONG_INPUT.replace("morning", "mornign"), True),
        (LONG_INPUT.replace("timeout", "timout").replace("bucket", "buckt"), True),
        ("Which wines go well with a mushroom risotto on a cold evening, and should they be served chilled?", False),
    ],
    ids=["one-typo", "two-typos", "unrelated"],
)
def test_near_duplicate_leak(write_jsonl, make_chat, heldout_input, flagged):
    train = write_jsonl("train.jsonl", [
        make_chat("How do I reset my password?", "Use the sign-in page."),
        make_chat(LONG_INPUT, "Check the upload timeout and the bucket permissions."),
    ])
    heldout = write_jsonl("heldout.jsonl", [make_chat(heldout_input, "Something else entirely.")])
    report = lint(str(train), LintOptions(heldout=str(heldout)))
    leaks = [f for f in report.findings if f.code in {"heldout-leak", "heldout-near-leak"}]
    if flagged:
        assert [(f.path, f.line, f.code) for f in leaks] == [(str(heldout), 1, "heldout-near-leak")]
        assert f"{train}:2" in leaks[0].message
    else:
        assert leaks == []


def test_lint_never_writes(tmp_path, capsys):
    for fixture in LINT.iterdir():
        (tmp_path / fixture.name).write_bytes(fixture.read_bytes())

    def snapshot() -> dict[str, tuple[bytes, int]]:
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}

    before = snapshot()
    for argv in (
        ["several-problems.jsonl"],
        ["heldout-train.jsonl", "--heldout", "heldout-leak.jsonl", "--format", "json"],
        ["schema-violation.jsonl", "--schema", "schema.json", "--strict"],
    ):
        main(["lint", *(str(tmp_path / a) if a.endswith((".jsonl", ".json")) else a for a in argv), "--model", "none"])
    capsys.readouterr()
    assert snapshot() == before


def test_line_separators_inside_json_strings_do_not_split_lines(write_jsonl, make_chat):
    path = write_jsonl("seps.jsonl", [
        make_chat("first\u2028second\u2029third\x85fourth", "ok"),
        make_chat("plain", "fine\u2028too"),
    ])
    parsed = parse_jsonl(path)
    assert parsed.findings == []
    assert [e.line for e in parsed.examples] == [1, 2]
    assert parsed.examples[0].messages[0]["content"] == "first\u2028second\u2029third\x85fourth"


def test_crlf_and_blank_lines_keep_line_numbers(tmp_path):
    good = (LINT / "too-few-examples.jsonl").read_text().splitlines()
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(("\r\n".join([good[0], "", "{oops", good[1]]) + "\r\n").encode())
    parsed = parse_jsonl(path)
    assert [e.line for e in parsed.examples] == [1, 4]
    assert [(f.line, f.code) for f in parsed.findings] == [(3, "invalid-json")]


@pytest.mark.slow
def test_too_long_with_the_real_tokenizer(capsys):
    from harness.data.tokens import ChatTokenizer
    from harness.models import resolve_model

    fixture = str(LINT / "too-long.jsonl")
    # The CLI path: default model, real context length, so nothing here is too long.
    assert main(["lint", fixture, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert "too-long" not in summary["by_code"]
    assert 30 < summary["tokens"]["example"]["min"] < 64 < summary["tokens"]["example"]["max"] < 8192

    counter = TokenCounter(ChatTokenizer.from_checkpoint(resolve_model("smollm2-135m-instruct").location), max_length=64)
    # Reusing one counter on another file first must not leave stale counts behind.
    assert "too-long" not in lint(str(LINT / "too-few-examples.jsonl"), LintOptions(tokens=counter)).summary["by_code"]
    report = lint(fixture, LintOptions(tokens=counter))
    long = [f for f in report.findings if f.code == "too-long"]
    assert [(f.line, f.severity) for f in long] == [(2, "warning")]
    assert "context is 64" in long[0].message
    assert report.summary["tokens"] == summary["tokens"]


@pytest.mark.slow
def test_fast_token_counts_equal_the_transformers_tokenizer():
    """Lint's segment-cached counts and compiled template match apply_chat_template exactly."""
    from harness.data import load_examples
    from harness.data.tokens import ChatTokenizer
    from harness.models import load_tokenizer, resolve_model

    location = resolve_model("smollm2-135m-instruct").location
    chat, reference = ChatTokenizer.from_checkpoint(location), load_tokenizer(location)
    examples = load_examples(Path(__file__).parents[1] / "suites/triage/data/triage.jsonl")[:300]
    rendered = [chat.render(e.messages) for e in examples]
    expected = [reference.apply_chat_template(list(e.messages), tokenize=False) for e in examples]
    assert rendered == expected
    ids = reference(expected, add_special_tokens=False)["input_ids"]
    assert chat.count(rendered).tolist() == [len(x) for x in ids]
    chat.splittable = False  # the whole-text path gives the same counts
    assert chat.count(rendered).tolist() == [len(x) for x in ids]
