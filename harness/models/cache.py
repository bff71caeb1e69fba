"""Where converted models and other reusable artifacts live, and cheap cached hashes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.errors import HarnessError
from harness.fileio import atomic_write_json, sha256_file

CACHE_ENV = "HARNESS_CACHE_DIR"


def cache_dir() -> Path:
    """The harness cache folder: ``$HARNESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/harness``,
    else ``~/.cache/harness``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "harness"


def cached_sha256(path: Path) -> str:
    """sha256 of a file, remembered by (absolute path, size, mtime) so repeat calls are instant.

    The index is a small JSON file in the cache folder; a stale or unreadable index is
    simply recomputed.
    """
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    index_path = cache_dir() / "sha256-index.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    if key not in index:
        index[key] = sha256_file(path)
        try:
            atomic_write_json(index_path, index)
        except (OSError, HarnessError):
            pass  # a read-only cache only costs speed
    return index[key]
