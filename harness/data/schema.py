"""Check assistant outputs against a JSON Schema (``lint --schema``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

from harness.data.codes import severity_of
from harness.errors import InputError
from harness.fileio import check_regular_file
from harness.records import Example, Finding


class OutputSchema:
    """A validated JSON Schema for assistant outputs."""

    def __init__(self, schema: dict[str, Any], path: str = "<schema>") -> None:
        self.path = path
        if not isinstance(schema, dict | bool):  # validator_for() raises TypeError on these
            raise InputError(
                f"not a valid JSON Schema: got a JSON {type(schema).__name__}; write an object such as "
                '{"type": "object", ...}', path=path, code="bad-schema",
            )
        cls = jsonschema.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except SchemaError as exc:
            raise InputError(f"not a valid JSON Schema: {exc.message}", path=path, code="bad-schema") from exc
        self.validator = cls(schema)

    @classmethod
    def from_file(cls, path: str | Path) -> OutputSchema:
        """Read a schema file.

        Raises:
            InputError: missing file, invalid JSON (with its line) or an invalid schema.
        """
        path = check_regular_file(path, "schema file")  # a pipe or device could block forever
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno, code="bad-schema") from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", path=str(path),
                             code="not-utf8") from exc
        except (RecursionError, ValueError) as exc:  # nested too deeply; an integer too long to convert
            raise InputError(f"unreadable JSON Schema: {exc}", path=str(path), code="bad-schema") from None
        except OSError as exc:  # a directory, no permission, ...
            raise InputError(f"cannot read the schema file: {exc.strerror}", path=str(path), code="not-a-file") from exc
        return cls(schema, str(path))

    def errors(self, output: str) -> tuple[str, str] | None:
        """``(code, message)`` for an output that is not one valid JSON value, else None."""
        try:
            value = json.loads(output)
        except json.JSONDecodeError as exc:
            return "output-not-json", f"assistant output is not JSON ({exc.msg}); it must be exactly one JSON value"
        except (RecursionError, ValueError) as exc:  # nested too deeply; an integer too long to convert
            return "output-not-json", f"assistant output cannot be read as JSON ({exc or 'nested too deeply'})"
        try:
            problems = sorted(self.validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        except RecursionError:
            return "schema-violation", f"assistant output is nested too deeply to check against {self.path}"
        if not problems:
            return None
        described = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in problems)
        return "schema-violation", f"assistant output fails {self.path}: {described}"

    def check(self, examples: Sequence[Example]) -> list[Finding]:
        """Findings for every example whose output fails the schema."""
        found = []
        memo: dict[str, tuple[str, str] | None] = {}  # outputs repeat (labels): validate each text once
        for example in examples:
            output = example.output or ""
            problem = memo[output] if output in memo else memo.setdefault(output, self.errors(output))
            if problem:
                code, message = problem
                found.append(Finding(example.path, example.line, code, severity_of(code), message))
        return found
