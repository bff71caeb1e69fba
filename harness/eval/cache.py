"""The generation cache: an embedded SQLite database in WAL mode, safe for several processes.

The key is a sha256 of everything that can change an output: backend kind, model identity
(path or id with weights hash), adapter hash, the rendered messages, decoding parameters
and the sample index. Only successful generations are stored; errors are never cached.
Writers retry while another process holds the lock (``busy_timeout``), so pytest-xdist
workers can share one file. A damaged or unreadable database file is an
:class:`~harness.errors.InputError` that names the file to delete (it holds nothing but
cached outputs).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import InputError
from harness.fileio import make_folder, sha256_text
from harness.records import Decoding, Generation, GenerationRequest

SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_s REAL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS token_losses (
    key TEXT PRIMARY KEY,
    loss REAL NOT NULL
)
"""


LOSS_KEY_VERSION = "token-loss-v2"
"""Part of every token-loss key; bumped when the loss maths changes so old cached losses are not reused.
v2: right padding through ``harness.models.losses`` (v1 left-padded, and a padded position's
prediction of a row's first token entered its mean)."""

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(method: F) -> F:
    """Run a :class:`GenerationCache` method with damaged-file errors turned into :class:`InputError`."""
    @functools.wraps(method)
    def wrapper(self: GenerationCache, *args: Any, **kwargs: Any) -> Any:
        with self._damage_is_input_error():
            return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


def cache_key(backend: dict[str, Any], adapter: dict[str, Any] | None, request: GenerationRequest,
              decoding: Decoding) -> str:
    """The cache key of one request (see module docstring)."""
    return sha256_text(json.dumps({
        "backend": backend,
        "adapter": adapter,
        "messages": list(request.messages),
        "decoding": asdict(decoding),
        "sample": request.sample,
    }, sort_keys=True, ensure_ascii=False))


class GenerationCache:
    """A key → generation store in one SQLite file.

    Args:
        path: the database file (created with its folder if missing).
        timeout_s: how long a writer waits for another process's lock.
    """

    def __init__(self, path: str | Path, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        make_folder(self.path.parent)
        with self._damage_is_input_error():
            self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._retry(lambda: self._db.executescript(SCHEMA))

    @contextlib.contextmanager
    def _damage_is_input_error(self) -> Iterator[None]:
        """Turn SQLite's complaints about the file (damaged, not a database, unopenable) into one clear error."""
        try:
            yield
        except sqlite3.DatabaseError as exc:  # OperationalError ("locked" after retries, "unable to open") included
            if "locked" in str(exc):
                raise
            raise InputError(f"the generation cache cannot be used ({exc}); delete this file (and its -wal/-shm "
                             "files beside it): it holds only cached outputs, which are regenerated",
                             path=str(self.path), code="damaged-cache") from exc

    @_guarded
    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Cached rows for the keys that are present."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            rows = self._db.execute(
                f"SELECT key, text, prompt_tokens, completion_tokens, latency_s FROM generations "
                f"WHERE key IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            for key, text, prompt_tokens, completion_tokens, latency in rows:
                found[key] = {"text": text, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "latency_s": latency}
        return found

    @_guarded
    def put_many(self, items: Iterable[tuple[str, Generation]]) -> int:
        """Store successful generations (errors are skipped); return how many were written."""
        rows = [(key, g.text, g.prompt_tokens, g.completion_tokens, g.latency_s, time.time())
                for key, g in items if g.error is None and g.text is not None]
        if rows:
            self._retry(lambda: self._db.executemany(
                "INSERT OR REPLACE INTO generations VALUES (?, ?, ?, ?, ?, ?)", rows))
        return len(rows)

    @_guarded
    def losses(self, backend: Any, texts: Sequence[str], adapter: str | None) -> list[float]:
        """Mean token losses of ``texts`` under ``adapter``, computing (and storing) only the missing ones."""
        identity = [LOSS_KEY_VERSION, backend.identity(), backend.adapter_identity(adapter)]
        keys = [sha256_text(json.dumps([*identity, text], sort_keys=True)) for text in texts]
        found = dict(self._db.execute(f"SELECT key, loss FROM token_losses WHERE key IN ({','.join('?' * len(keys))})",
                                      keys).fetchall()) if keys else {}
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            computed = backend.token_losses([texts[i] for i in missing], adapter)
            rows = [(keys[i], loss) for i, loss in zip(missing, computed, strict=True)]
            self._retry(lambda: self._db.executemany("INSERT OR REPLACE INTO token_losses VALUES (?, ?)", rows))
            found.update(rows)
        return [found[key] for key in keys]

    @_guarded
    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @staticmethod
    def _retry(action: Any, attempts: int = 20) -> Any:
        for attempt in range(attempts):
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return None
