"""Read YAML config files with the line of every key, for ``path:line`` errors.

A key given twice in one mapping is an error (YAML would silently keep the last one).
Paths in a config are relative to the config file's folder: :func:`relative_path`, which
also resolves ``builtin:<name>`` to a data file shipped inside the package (:data:`BUILTINS`),
so a config written in another repository can point at the harness's own general items.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from harness.errors import ConfigError
from harness.fileio import check_regular_file

BUILTIN_PREFIX = "builtin:"
BUILTINS = {
    "general": "general/items.jsonl",  # gate.general.items: 162 general-capability items (see general/README.md)
    "general-text": "general/text.jsonl",  # gate.forgetting.text: 40 prose paragraphs for the token-loss check
    "replay": "replay_prompts.jsonl",  # lora.yaml replay prompts (self-distillation against forgetting)
}
"""``builtin:<name>`` → file under ``harness/resources/`` (package data, installed with the wheel)."""


class ConfigSource(NamedTuple):
    """A parsed YAML mapping, where it came from, and the 1-based line of each dotted key."""

    data: dict[str, Any]
    path: Path
    lines: dict[str, int]

    def error(self, key: str, message: str) -> ConfigError:
        """A :class:`ConfigError` pointing at ``key``'s line (or the closest parent's)."""
        line = self.lines.get(key)
        while line is None and "." in key:
            key = key.rsplit(".", 1)[0]
            line = self.lines.get(key)
        return ConfigError(message, path=str(self.path), line=line)


def read_yaml(path: str | Path) -> ConfigSource:
    """Parse a YAML file whose top level must be a mapping.

    Raises:
        ConfigError: missing file, YAML syntax error (with its line), not UTF-8, or not a mapping.
        InputError: not a regular file (a directory, a pipe or device).
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError("config file not found; check the path", path=str(path), code="file-not-found")
    try:
        text = check_regular_file(path, "config file").read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start}); give a YAML config file", path=str(path),
                          code="not-utf8") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=str(path), line=line) from exc
    except RecursionError:
        raise ConfigError("nested too deeply to read; flatten the config", path=str(path), code="too-deep") from None
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys to values", path=str(path), line=1)
    lines: dict[str, int] = {}
    _collect_lines(node, "", lines, path)
    return ConfigSource(data, path, lines)


def _collect_lines(node: yaml.Node | None, prefix: str, lines: dict[str, int], path: Path) -> None:
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _collect_lines(item, prefix, {}, path)  # duplicate keys inside list items too
        return
    if not isinstance(node, yaml.MappingNode):
        return
    seen: set[str] = set()
    for key_node, value_node in node.value:
        key = f"{prefix}{key_node.value}"
        if key in seen:
            raise ConfigError(f"duplicate key {key}; it is also given above (only one may stay)", path=str(path),
                              line=key_node.start_mark.line + 1, code="duplicate-key")
        seen.add(key)
        lines[key] = key_node.start_mark.line + 1
        _collect_lines(value_node, key + ".", lines, path)


def relative_path(config: str | Path, value: str | Path) -> str:
    """``value`` resolved against the folder of the config file ``config`` (absolute paths stay as they are).

    ``builtin:<name>`` is a file shipped with the package instead (:func:`builtin_path`).

    Raises:
        ConfigError: an unknown or missing ``builtin:`` name (the message lists the known ones).
    """
    if str(value).startswith(BUILTIN_PREFIX):
        return builtin_path(str(value), config)
    return str((Path(config).resolve().parent / value).resolve())


def builtin_names() -> list[str]:
    """The ``builtin:`` references whose file this installation has."""
    return [BUILTIN_PREFIX + name for name in BUILTINS if _resource(name).is_file()]


def builtin_path(reference: str, config: str | Path | None = None) -> str:
    """The installed file behind ``builtin:<name>``.

    Raises:
        ConfigError: the name is unknown, or its file is not installed (pointing at ``config``).
    """
    name = reference.removeprefix(BUILTIN_PREFIX)
    path = _resource(name) if name in BUILTINS else None
    if path is None or not path.is_file():
        raise ConfigError(f"unknown built-in data {reference!r}; known: {', '.join(builtin_names()) or 'none installed'}",
                          path=str(config) if config is not None else None, code="unknown-builtin")
    return str(path)


def _resource(name: str) -> Path:
    return Path(str(resources.files("harness") / "resources" / BUILTINS[name]))


def check_keys(source: ConfigSource, section: str, value: Any, allowed: list[str], required: list[str]) -> dict[str, Any]:
    """Check one mapping of the config: unknown keys and missing required keys.

    Args:
        source: the parsed file (for lines).
        section: dotted name of the mapping (``""`` for the top level).
        value: the mapping as parsed.
        allowed: every key the mapping may have.
        required: keys it must have.

    Raises:
        ConfigError: naming the bad key, its line and the allowed keys.
    """
    where = section or "the top level"
    if not isinstance(value, dict):
        raise source.error(section, f"{where} must be a mapping with keys {', '.join(allowed)}")
    prefix = f"{section}." if section else ""
    for key in value:
        if key not in allowed:
            raise source.error(f"{prefix}{key}", f"unknown key {prefix}{key!s}; allowed in {where}: {', '.join(allowed)}")
    for key in required:
        if key not in value:
            raise source.error(section, f"missing required key {prefix}{key} in {where}")
    return value
