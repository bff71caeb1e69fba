"""``harness init``: a starter task (configs, gate suite, stable split) from a chat JSONL file.

Writes into one folder (by default ``suites/<task>/``)::

    harness.yaml            prompt-only, RAG over the training examples, the fine-tuned adapter; the gate
    lora.yaml               the training config for the same split
    test_<task>_gate.py     one pytest test per gate rule (``pytest suites/`` is the deploy gate)
    data/train.jsonl, data/heldout.jsonl, data/split.json   (harness.data.split)

The configs come from Jinja templates shipped in ``harness/resources/init/``; scoring follows
the output schema when one is given (its categorical fields become the gate's macro-F1 fields).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from harness.data.heldout_size import HeldoutAdvice, advise
from harness.data.load import load_examples
from harness.data.schema import OutputSchema
from harness.data.split import OUTPUT_NAMES, write_split
from harness.errors import InputError, OutputExistsError
from harness.fileio import atomic_write_text
from harness.models import DEFAULT_MODEL, sentence

log = logging.getLogger(__name__)

TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
CHARS_PER_TOKEN = 3  # a low estimate for English and JSON, so the token cap leaves room
MIN_CASES = 50  # the starter gate's min_cases


@dataclass(frozen=True)
class StarterRequest:
    """What ``harness init`` was asked for."""

    data: Path
    task: str
    out: Path
    schema: Path | None = None
    model: str = DEFAULT_MODEL
    eval_split: float = 0.1
    seed: int = 0
    force: bool = False


@dataclass(frozen=True)
class StarterResult:
    """What was written, and the split's sizes."""

    files: list[Path]
    n_train: int
    n_heldout: int
    fields: tuple[str, ...]
    advice: HeldoutAdvice
    """Held-out cases per class of each scored field, the effect the gate can detect, the split that would do."""


def suite_file_name(task: str) -> str:
    """The suite's test file: task-specific, so pytest never sees two test modules with one name."""
    return f"test_{re.sub(r'[^A-Za-z0-9_]', '_', task)}_gate.py"


def init_task(request: StarterRequest) -> StarterResult:
    """Split the data and write the starter configs and gate suite.

    Raises:
        InputError: a bad task name, data file (``path:line``) or schema.
        OutputExistsError: a file would be overwritten and ``force`` is False.
    """
    if not TASK_NAME.fullmatch(request.task):
        raise InputError(f"task name {request.task!r} must be letters, digits, '_', '-' or '.' (and start with a letter "
                         "or digit)", code="bad-option")
    names = ["harness.yaml", "lora.yaml", suite_file_name(request.task), *(f"data/{n}" for n in OUTPUT_NAMES)]
    existing = [n for n in names if (request.out / n).exists()]
    if existing and not request.force:
        raise OutputExistsError(f"would overwrite {', '.join(existing)}; pass --force or choose another --out",
                                path=str(request.out))
    examples = load_examples(request.data)  # every structural problem fails here, with its line
    if not examples:
        raise InputError("no examples; each line must be a chat example with messages", path=str(request.data),
                         code="empty-file")
    schema = _schema(request.schema)
    manifest = write_split(request.data, request.out / "data", request.eval_split, request.seed, force=True)
    longest = max(len(e.output or "") for e in examples)
    context = _context(request, schema, manifest["counts"], longest)
    files = [request.out / "data" / n for n in OUTPUT_NAMES]
    for template, name in (("harness.yaml.j2", names[0]), ("lora.yaml.j2", names[1]), ("test_gate.py.j2", names[2])):
        _write(request.out / name, _environment().get_template(template).render(**context))
        files.append(request.out / name)
    advice = advise(load_examples(request.out / "data" / "heldout.jsonl"), examples, context["fields"], MIN_CASES,
                    request.seed)
    return StarterResult(files, manifest["counts"]["train"], manifest["counts"]["heldout"], context["fields"], advice)


def schema_fields(schema: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """The output fields the gate compares, and why: categorical properties (enum, const, boolean) first.

    Returns:
        ``(fields, note)``; no fields when the schema names no object properties.
    """
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return (), "the schema names no properties"
    categorical = tuple(name for name, spec in properties.items()
                        if isinstance(spec, dict) and ("enum" in spec or "const" in spec or spec.get("type") == "boolean"))
    if categorical:
        return categorical, "the schema's categorical properties (enum, const, boolean)"
    return tuple(properties), "every schema property (none is categorical: consider a judge or exact fields)"


def free_text_fields(schema: dict[str, Any]) -> tuple[str, ...]:
    """The schema's top-level free-text properties (a string with no enum, const, pattern or format): scored by
    meaning (``scoring.similar_fields``), since an exact match of free text says little."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return ()
    return tuple(name for name, spec in properties.items()
                 if isinstance(spec, dict) and spec.get("type") == "string"
                 and not {"enum", "const", "pattern", "format"} & set(spec))


def _schema(path: Path | None) -> tuple[Path, dict[str, Any]] | None:
    if path is None:
        return None
    OutputSchema.from_file(path)  # a missing, unreadable or invalid schema is an InputError here
    return path, json.loads(path.read_text(encoding="utf-8"))


def _context(request: StarterRequest, schema: tuple[Path, dict[str, Any]] | None, counts: dict[str, int],
             longest: int) -> dict[str, Any]:
    fields, note = schema_fields(schema[1]) if schema else ((), "")
    primary = "field_macro_f1" if fields else ("schema_valid" if schema else "exact_match")
    return {
        "task": request.task, "data_name": request.data.name, "model": _relative(request.model, request.out),
        "schema": _relative(str(schema[0]), request.out) if schema else None, "fields": fields, "fields_note": note,
        "free_text": free_text_fields(schema[1]) if schema else (), "embeddings": sentence.available(),
        "primary": primary, "min_cases": MIN_CASES, "n_train": counts["train"], "n_heldout": counts["heldout"], "k": 4,
        "seed": request.seed,
        "longest_output": longest, "max_new_tokens": _token_cap(longest), "suite_dir": request.out.as_posix(),
        "output_dir": Path(os.path.relpath(Path("candidates").resolve(), request.out.resolve())).as_posix(),
    }


def _token_cap(longest_chars: int) -> int:
    """Room for the longest reference output: about 3 characters a token, plus 16, in steps of 16 (32 to 1024)."""
    tokens = longest_chars / CHARS_PER_TOKEN + 16
    return int(min(1024, max(32, 16 * math.ceil(tokens / 16))))


def _relative(value: str, out: Path) -> str:
    """A local model or file as a path relative to the written configs (they resolve paths against their folder)."""
    if not Path(value).exists():
        return value  # an alias or hub id
    return Path(os.path.relpath(Path(value).resolve(), out.resolve())).as_posix()


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("harness", "resources/init"), autoescape=False,
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["yaml"] = _yaml_value
    environment.filters["python"] = json.dumps  # a task name is ASCII: a Python string literal
    return environment


def _yaml_value(value: Any) -> str:
    """One value as inline YAML (quoted where plain text would change type or meaning)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1_000_000).strip()
    return text.removesuffix("\n...").strip()


def _write(path: Path, text: str) -> None:
    atomic_write_text(path, text)
    log.info("wrote %s", path)
