"""``harness lint``: every problem in a chat dataset at once, with path, line and code.

Lint reads; it never writes. Codes, severities and meanings live in
:mod:`harness.data.codes`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.data.codes import severity_of
from harness.data.facts import volatile_facts
from harness.data.load import parse_jsonl
from harness.data.neardup import DEFAULT_THRESHOLD, find_near_duplicates
from harness.data.normalize import ExampleKeys, dialogue_text, example_keys
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
    if not examples and not findings:
        findings.append(Finding(path, 0, "no-examples", severity_of("no-examples"),
                                "no examples in this file; give a chat JSONL with one {\"messages\": [...]} per line"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Token counting spends most of its time in the tokenizer's native code, outside the
        # GIL: run it beside the other checks.
        counting = pool.submit(options.tokens.counts, examples) if options.tokens is not None else None
        summary = _content_checks(examples, findings, options)
        if counting is not None and options.tokens is not None:
            counting.result()
            findings.extend(options.tokens.too_long(examples))
            summary["tokens"] = options.tokens.statistics(examples)
    findings.sort(key=lambda f: (f.path != path, f.path, f.line, f.code))
    summary["by_code"] = dict(sorted(Counter(f.code for f in findings).items()))
    summary["errors"] = sum(f.severity == "error" for f in findings)
    summary["warnings"] = sum(f.severity == "warning" for f in findings)
    return LintReport(findings, summary)


def _content_checks(examples: list[Example], findings: list[Finding], options: LintOptions) -> dict[str, Any]:
    """Run the per-file checks (and the held-out ones); extend ``findings``; return the summary so far."""
    keys = [example_keys(e.messages) for e in examples]
    for check in _per_file_checks(options):
        findings.extend(check(examples, keys))
    summary: dict[str, Any] = {"examples": len(examples)}
    if options.heldout is not None:
        held = parse_jsonl(options.heldout)
        held_keys = [example_keys(e.messages) for e in held.examples]
        findings.extend(held.findings)
        for check in _per_file_checks(options):
            findings.extend(check(held.examples, held_keys) if check is not _too_few else [])
        findings.extend(leakage(held.examples, examples, options.near_threshold, keys=(held_keys, keys)))
        summary["heldout_examples"] = len(held.examples)
    return summary


Check = Callable[[Sequence[Example], Sequence[ExampleKeys]], list[Finding]]


def _per_file_checks(options: LintOptions) -> list[Check]:
    checks: list[Check] = [_duplicates, _conflicts, _too_few, _fresh_facts]
    if options.schema is not None:
        schema = options.schema
        checks.append(lambda examples, keys: schema.check(examples))
    return checks


def _finding(example: Example, code: str, message: str) -> Finding:
    return Finding(example.path, example.line, code, severity_of(code), message)


def _duplicates(examples: Sequence[Example], keys: Sequence[ExampleKeys]) -> list[Finding]:
    first: dict[str, Example] = {}
    found = []
    for example, key in zip(examples, (k.full for k in keys), strict=True):
        if key in first:
            found.append(_finding(example, "duplicate", f"same example as line {first[key].line}; remove one"))
        else:
            first[key] = example
    return found


def _conflicts(examples: Sequence[Example], keys: Sequence[ExampleKeys]) -> list[Finding]:
    first: dict[str, tuple[Example, str]] = {}
    found = []
    for example, key in zip(examples, keys, strict=True):
        seen, seen_output = first.setdefault(key.prompt, (example, key.output))
        if seen_output != key.output:
            found.append(_finding(
                example, "conflicting-outputs",
                f"same input as line {seen.line} with a different output; decide one label and fix the other",
            ))
    return found


def _too_few(examples: Sequence[Example], keys: Sequence[ExampleKeys]) -> list[Finding]:
    if not examples or len(examples) >= MIN_EXAMPLES:
        return []
    message = f"only {len(examples)} examples; a fine-tune needs a few hundred clean ones (aim for {MIN_EXAMPLES}+)"
    return [Finding(examples[0].path, 0, "too-few-examples", severity_of("too-few-examples"), message)]


def _fresh_facts(examples: Sequence[Example], keys: Sequence[ExampleKeys]) -> list[Finding]:
    found = []
    memo: dict[str, list[tuple[str, str]]] = {}  # outputs repeat (labels, templates): scan each once
    for example in examples:
        output = example.output or ""
        facts = memo[output] if output in memo else memo.setdefault(output, volatile_facts(output))
        if facts:
            shown = ", ".join(f"{kind} {text!r}" for kind, text in facts)
            found.append(_finding(
                example, "fresh-facts",
                f"output carries volatile facts ({shown}); a fine-tune freezes them: serve such facts by retrieval (RAG)",
            ))
    return found


def leakage(
    heldout: Sequence[Example],
    train: Sequence[Example],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    keys: tuple[Sequence[ExampleKeys], Sequence[ExampleKeys]] | None = None,
) -> list[Finding]:
    """Findings for held-out examples whose input repeats or nearly repeats a training input.

    ``keys`` are the precomputed :func:`example_keys` of ``(heldout, train)``, if at hand.
    """
    held_keys, train_keys_list = keys or ([example_keys(e.messages) for e in heldout], [example_keys(e.messages) for e in train])
    train_keys = {k.prompt: e for k, e in zip(train_keys_list, train, strict=True)}
    found, remaining = [], []
    for example, key in zip(heldout, held_keys, strict=True):
        twin = train_keys.get(key.prompt)
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
