"""Fuzz the chat-JSONL reader and ``harness lint`` (hypothesis): arbitrary bytes, arbitrary JSON,
and near-valid chat lines. Never a traceback, never a hang: the only error allowed is an
:class:`~harness.errors.InputError`, and each example has a deadline."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli.main import main
from harness.data import LintOptions, lint, parse_jsonl
from harness.errors import InputError

FUZZ = settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.too_slow], database=None)
WORK = Path(tempfile.mkdtemp(prefix="harness-fuzz-"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
roles = st.sampled_from(["system", "user", "assistant", "tool", ""]) | st.text(max_size=5)
contents = st.text(max_size=60) | st.sampled_from(['{"category": "bug"}', "\ud800", "price $5 as of 2024", " "]) | json_values
messages = st.lists(st.fixed_dictionaries({"role": roles, "content": contents},
                                          optional={"name": st.text(max_size=4), "weight": json_values}), max_size=5)
tricky = st.sampled_from(["\ud800", "a\udfffb", "price $5 as of 2024", " ", "<|im_end|>", "\u2028", "\x00", "é" * 50])
texts = st.text(max_size=60) | tricky | st.lists(st.text(max_size=10) | tricky, max_size=4).map("".join)
conversations = st.lists(texts, min_size=1, max_size=3).map(lambda turns: {"messages": [
    m for turn in turns for m in ({"role": "user", "content": turn}, {"role": "assistant", "content": turn[::-1] or "x"})]})
chat_lines = (conversations | st.fixed_dictionaries({"messages": messages}, optional={"extra": json_values})
              | json_values)
raw_lines = (st.integers(1, 3000).map(lambda n: "[" * n + "]" * n)
             | st.integers(1, 3000).map(lambda n: '{"messages": ' + "[" * n + "]" * n + "}")
             | st.integers(1, 6000).map(lambda n: '{"messages": ' + "7" * n + "}"))


@pytest.fixture(scope="module")
def token_counter():
    """The embedded model's real tokenizer and chat template (lint's default token checks)."""
    from harness.cli.lint_cmd import token_counter

    return token_counter("smollm2-135m-instruct")


def _file(content: bytes) -> Path:
    path = WORK / "fuzz.jsonl"
    path.write_bytes(content)
    return path


def _lint_never_crashes(path: Path, options: LintOptions | None = None) -> None:
    try:
        report = lint(path, options)
    except InputError as exc:
        assert exc.code in ("not-utf8",), exc
        return
    json.dumps(report.summary)  # the --format json document can always be written
    for finding in report.findings:
        str(finding).encode("utf-8")  # printable: no lone surrogate reaches a message


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(content: bytes) -> None:
    path = _file(content)
    try:
        parse_jsonl(path)
    except InputError as exc:
        assert exc.code == "not-utf8"
    _lint_never_crashes(path)


@FUZZ
@given(lines=st.lists(chat_lines.map(json.dumps) | raw_lines, max_size=6))
@pytest.mark.slow
def test_arbitrary_json_and_near_valid_chat_lines(lines: list[str], token_counter) -> None:
    text = "".join(line + "\n" for line in lines)
    path = _file(text.encode())
    parsed = parse_jsonl(path)
    assert len(parsed.examples) <= len(lines)
    _lint_never_crashes(path, LintOptions(heldout=str(path), tokens=token_counter))


@settings(max_examples=25, deadline=5000, database=None)
@given(st.binary(max_size=200) | st.lists(chat_lines, max_size=3).map(lambda ls: "\n".join(map(json.dumps, ls)).encode()))
def test_the_lint_command_exits_0_1_or_2_with_no_internal_error(content: bytes) -> None:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["lint", str(_file(content)), "--model", "none", "--format", "json"])
    assert code in (0, 1, 2)
    assert "internal-error" not in err.getvalue() and "Traceback" not in err.getvalue()
