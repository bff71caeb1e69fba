"""``harness lint``: every problem in a chat dataset at once, with path, line and code.

Lint reads; it never writes. Codes, severities and meanings live in
:mod:`harness.data.codes`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.data.codes import severity_of
from harness.data.facts import volatile_facts
from harness.data.load import parse_jsonl
from harness.data.neardup import DEFAULT_THRESHOLD, find_near_duplicates
from harness.data.normalize import conversation_key, dialogue_text, normalize_text
from harness.data.schema import OutputSchema
from harness.data.tokens import TokenCounter
from harness.records import Example, Finding

MIN_EXAMPLES = 100


@dataclass
class LintOptions:
    """What ``harness lint`` checks beyond the chat format."""

    heldout: str | None = None
    """A held-out file to check for leakage from the training file."""
    schema: OutputSchema | None = None
    """A JSON Schema every assistant output must satisfy."""
    tokens: TokenCounter | None = None
    """The model's tokenizer and chat template, for lengths and token statistics."""
    near_threshold: float = DEFAULT_THRESHOLD
    """Minimum character 5-gram Jaccard similarity for a near-duplicate leak."""


@dataclass
class LintReport:
    """Findings (sorted by path and line) and the summary of ``lint --format json``."""

    findings: list[Finding]
    summary: dict[str, Any] = field(default_factory=dict)

    def failed(self, *, strict: bool = False) -> bool:
        """True when any finding is an error (or, with ``strict``, a warning)."""
        return any(f.severity == "error" or strict for f in self.findings)


def lint(path: str | Path, options: LintOptions | None = None) -> LintReport:
    """Lint a training file (and optionally its held-out file)."""
    options = options or LintOptions()
    path = str(path)  # findings carry str paths; the sort below compares against this
    parsed = parse_jsonl(path)
    findings = list(parsed.findings)
    examples = parsed.examples
    for check in _per_file_checks(options):
        findings.extend(check(examples))
    summary: dict[str, Any] = {"examples": len(examples)}
    if options.heldout is not None:
        held = parse_jsonl(options.heldout)
        findings.extend(held.findings)
        for check in _per_file_checks(options):
            findings.extend(check(held.examples) if check is not _too_few else [])
        findings.extend(leakage(held.examples, examples, options.near_threshold))
        summary["heldout_examples"] = len(held.examples)
    if options.tokens is not None:
        findings.extend(options.tokens.too_long(examples))
        summary["tokens"] = options.tokens.statistics(examples)
    findings.sort(key=lambda f: (f.path != path, f.path, f.line, f.code))
    summary["by_code"] = dict(sorted(Counter(f.code for f in findings).items()))
    summary["errors"] = sum(f.severity == "error" for f in findings)
    summary["warnings"] = sum(f.severity == "warning" for f in findings)
    return LintReport(findings, summary)


def _per_file_checks(options: LintOptions) -> list[Callable[[list[Example]], list[Finding]]]:
    checks: list[Callable[[list[Example]], list[Finding]]] = [_duplicates, _conflicts, _too_few, _fresh_facts]
    if options.schema is not None:
        checks.append(options.schema.check)
    return checks


def _finding(example: Example, code: str, message: str) -> Finding:
    return Finding(example.path, example.line, code, severity_of(code), message)


def _duplicates(examples: Sequence[Example]) -> list[Finding]:
    first: dict[str, Example] = {}
    found = []
    for example in examples:
        key = conversation_key(example.messages)
        if key in first:
            found.append(_finding(example, "duplicate", f"same example as line {first[key].line}; remove one"))
        else:
            first[key] = example
    return found


def _conflicts(examples: Sequence[Example]) -> list[Finding]:
    first: dict[str, Example] = {}
    found = []
    for example in examples:
        key = conversation_key(example.prompt_messages)
        seen = first.setdefault(key, example)
        if normalize_text(seen.output or "") != normalize_text(example.output or ""):
            found.append(_finding(
                example, "conflicting-outputs",
                f"same input as line {seen.line} with a different output; decide one label and fix the other",
            ))
    return found


def _too_few(examples: Sequence[Example]) -> list[Finding]:
    if not examples or len(examples) >= MIN_EXAMPLES:
        return []
    message = f"only {len(examples)} examples; a fine-tune needs a few hundred clean ones (aim for {MIN_EXAMPLES}+)"
    return [Finding(examples[0].path, 0, "too-few-examples", severity_of("too-few-examples"), message)]


def _fresh_facts(examples: Sequence[Example]) -> list[Finding]:
    found = []
    for example in examples:
        facts = volatile_facts(example.output or "")
        if facts:
            shown = ", ".join(f"{kind} {text!r}" for kind, text in facts)
            found.append(_finding(
                example, "fresh-facts",
                f"output carries volatile facts ({shown}); a fine-tune freezes them: serve such facts by retrieval (RAG)",
            ))
    return found


def leakage(heldout: Sequence[Example], train: Sequence[Example], threshold: float) -> list[Finding]:
    """Findings for held-out examples whose input repeats or nearly repeats a training input."""
    train_keys = {conversation_key(e.prompt_messages): e for e in train}
    found, remaining = [], []
    for example in heldout:
        twin = train_keys.get(conversation_key(example.prompt_messages))
        if twin is None:
            remaining.append(example)
            continue
        found.append(_finding(example, "heldout-leak", f"same input as {twin.path}:{twin.line}; drop it from one file"))
    near = find_near_duplicates(
        [dialogue_text(e.prompt_messages) for e in remaining], [dialogue_text(e.prompt_messages) for e in train],
        threshold,
    )
    for hit in near:
        example, twin = remaining[hit.query], train[hit.reference]
        found.append(_finding(
            example, "heldout-near-leak",
            f"input is {hit.similarity:.0%} similar to {twin.path}:{twin.line} (character 5-gram Jaccard >= "
            f"{threshold:.0%}); drop or rewrite one",
        ))
    return found


def report_json(report: LintReport) -> str:
    """The ``--format json`` document."""
    return json.dumps({"findings": [f.to_dict() for f in report.findings], "summary": report.summary}, indent=2)
