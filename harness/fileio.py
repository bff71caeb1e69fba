"""Atomic file writes, content hashes, and the temporary folders of writes under way.

An artifact is first written under a temporary name in the destination folder, then
renamed into place, so a crash never leaves a half-written file that looks complete.

A temporary folder (``.<name>.<random>.partial``) is held by its writer with an OS lock
(``flock`` on the folder itself) for as long as the writer lives: the kernel releases it the
moment the process ends, however it ends (SIGKILL, power loss aside). So the next writer in
the same place removes folders nobody holds at once (:func:`remove_abandoned`), never one
that a concurrent process is still filling, and without waiting for an age limit. A single file's
temporary (``.<name>.<random>.tmp``) is held the same way (``flock`` on the file) until it is renamed
into place, and the next atomic write into its folder removes the ones nobody holds
(:func:`remove_abandoned_files`).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import DiskFull, InputError

_CHUNK = 1 << 20


def current_umask() -> int:
    """The process umask, read without changing it."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_regular_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """Return ``path`` if it is a regular file; refuse anything that could block or is no file.

    A FIFO, socket or device (``/dev/zero``, ``/dev/stdin``) may never deliver an end of
    data, so reading it could hang forever: it is refused before any read.

    Raises:
        InputError: missing, a directory, or not a regular file.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{what} not found; check the path", path=str(path), code="file-not-found") from None
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror}", path=str(path), code="not-a-file") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"is a directory; give a {what}", path=str(path), code="not-a-file")
    if not stat.S_ISREG(mode):
        raise InputError(f"not a regular file (a pipe, socket or device could block forever); give a {what}",
                         path=str(path), code="not-a-file")
    return path


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says the device or the quota is full."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(seen)
        if "No space left on device" in text or "database or disk is full" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def disk_full(path: str | os.PathLike[str], needed_bytes: int | None = None, *, at_least: bool = False) -> DiskFull:
    """The one-line error for an output that did not fit: the path, the space free there and the space needed."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = f"{_size(shutil.disk_usage(folder).free)} free there"
    except OSError:
        free = "free space unknown"
    needed = f"; this write needs {'more than' if at_least else 'about'} {_size(needed_bytes)}" if needed_bytes else ""
    return DiskFull(f"no space left on the device that holds it ({free}{needed}); free some space or write "
                    "elsewhere, then rerun: the files that were there before are unchanged", path=str(path))


def folder_bytes(folder: str | os.PathLike[str]) -> int:
    """The bytes of the files below ``folder`` (what a write had got through when it failed)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(text: str) -> str:
    """``text`` with every lone surrogate (a ``"\\ud800"`` JSON escape read as it stands) replaced by U+FFFD.

    A lone surrogate cannot be encoded as UTF-8, so a file or page that holds one cannot be written.
    """
    return _LONE_SURROGATE.sub("\ufffd", text)


def sha256_text(text: str) -> str:
    """Return the hex sha256 of a string's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_folder(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` (and its parents) unless it exists.

    Raises:
        InputError: a file (not a folder) is in the way, or the folder cannot be created.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError("a file is in the way of this folder; give a folder path", path=str(folder),
                         code="not-a-folder") from None
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror}", path=str(folder), code="not-a-folder") from None
    return folder


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file held by this process, fsync, rename).

    Temporary files that killed writers left in the folder are removed first (:func:`remove_abandoned_files`).
    """
    path = Path(path)
    make_folder(path.parent)
    remove_abandoned_files(path.parent)
    try:
        fd, tmp = _held_temporary_file(path)
    except OSError as exc:
        if is_no_space(exc):
            raise disk_full(path, len(text.encode("utf-8"))) from None
        raise
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # closing it releases the hold: after the rename
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp creates 0600; give the file normal permissions
            os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_no_space(exc):
            raise disk_full(path, len(text.encode("utf-8"))) from None
        raise


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


PARTIAL = ".partial"
_CREATING = ".creating"
_TMP, _TMP_CREATING = ".tmp", ".tmp-creating"
_TEMPORARY_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(-creating)?$")
"""The names :func:`_held_temporary_file` gives (``tempfile``'s 8 random characters): no other file matches by chance."""


def _held_temporary_file(path: Path) -> tuple[int, str]:
    """A new ``.<name>.<random>.tmp`` beside ``path``, locked by this process (its open descriptor and name).

    Created under a ``-creating`` name no sweep of live files matches, locked, then renamed, so
    :func:`remove_abandoned_files` never sees it unlocked while its writer lives.
    """
    fd, creating = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_CREATING, dir=path.parent)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        tmp = creating.removesuffix(_TMP_CREATING) + _TMP
        os.replace(creating, tmp)
    except BaseException:
        os.close(fd)
        Path(creating).unlink(missing_ok=True)
        raise
    return fd, tmp


def remove_abandoned_files(parent: str | os.PathLike[str], creating_older_than_s: float = 60.0) -> list[Path]:
    """Remove the temporary files of :func:`atomic_write_text` in ``parent`` that no live process holds; return them.

    A file still being created (a writer killed between creating and locking it) is removed once
    ``creating_older_than_s`` old. Other files, and a live writer's, are never touched.
    """
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(parent) if _TEMPORARY_FILE.match(e.name) and e.is_file(follow_symlinks=False)]
    except OSError:
        return removed
    for entry in entries:
        try:
            if entry.name.endswith(_TMP_CREATING):
                if time.time() - entry.stat(follow_symlinks=False).st_mtime <= creating_older_than_s:
                    continue
            elif is_held(entry.path):
                continue
            os.unlink(entry.path)
        except OSError:
            continue  # gone already (its writer renamed it) or not ours to remove
        removed.append(Path(entry.path))
    return removed


@contextmanager
def held_folder(parent: str | os.PathLike[str], prefix: str, suffix: str = PARTIAL) -> Iterator[Path]:
    """A new folder ``<parent>/<prefix><random><suffix>`` held (locked) by this process until the block ends.

    The folder is created under a name no cleaner matches, locked, then renamed to its final
    temporary name, so :func:`remove_abandoned` can never see it unlocked while its writer lives.
    The folder itself is left in place: the caller renames it into place or removes it.
    """
    creating = Path(tempfile.mkdtemp(prefix=prefix, suffix=_CREATING, dir=parent))
    handle = os.open(creating, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        folder = creating.with_name(creating.name.removesuffix(_CREATING) + suffix)
        os.replace(creating, folder)
        yield folder
    finally:
        os.close(handle)


def is_held(folder: str | os.PathLike[str]) -> bool:
    """Whether a live process holds ``folder`` (see :func:`held_folder`), or a temporary file of
    :func:`atomic_write_text`; False if it is gone."""
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: opening a FIFO never waits
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(handle)  # closing releases a lock taken here
    return False


def remove_abandoned(parent: str | os.PathLike[str], pattern: str, creating_older_than_s: float = 60.0) -> list[Path]:
    """Remove the temporary folders matching ``pattern`` in ``parent`` that no live process holds; return them.

    Folders still being created (a writer killed between ``mkdtemp`` and its lock, which leaves an
    empty folder) are removed once ``creating_older_than_s`` old.
    """
    removed: list[Path] = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    for folder in sorted(parent.glob(pattern)):
        if folder.name.endswith(_CREATING):
            continue
        if folder.is_dir() and not is_held(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for folder in parent.glob(f".*{_CREATING}"):
        try:
            if folder.is_dir() and time.time() - folder.stat().st_mtime > creating_older_than_s:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            continue
    return removed


@contextmanager
def atomic_directory(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a directory under a temporary name and rename it to ``final`` on success.

    On any exception (Ctrl-C included) the temporary directory is removed, so nothing
    that looks like a finished ``final`` is ever left behind.

    Raises:
        FileExistsError: ``final`` already exists.
    """
    final = Path(final)
    if final.exists():
        raise FileExistsError(final)
    make_folder(final.parent)
    written = 0
    try:
        with held_folder(final.parent, f".{final.name}.") as tmp:
            try:
                os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp creates 0700
                yield tmp
                os.replace(tmp, final)
            except BaseException as exc:
                written = folder_bytes(tmp) if is_no_space(exc) else 0
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except BaseException as exc:
        if is_no_space(exc) and not isinstance(exc, DiskFull):
            raise disk_full(final, written or None, at_least=True) from None
        raise
