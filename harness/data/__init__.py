"""Chat datasets: load, lint, split, leakage, and conversion for training."""

from harness.data.lint import LintOptions, LintReport, leakage, lint
from harness.data.load import ParsedFile, load_examples, parse_jsonl
from harness.data.schema import OutputSchema
from harness.data.split import Split, assign, split_score, write_split

__all__ = [
    "LintOptions",
    "LintReport",
    "OutputSchema",
    "ParsedFile",
    "Split",
    "assign",
    "leakage",
    "lint",
    "load_examples",
    "parse_jsonl",
    "split_score",
    "write_split",
]
