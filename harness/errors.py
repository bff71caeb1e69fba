"""The harness's error hierarchy.

Every error a user can cause by input (a missing file, a malformed config, an unknown
model name) is a :class:`HarnessError`; the CLI turns it into ``path:line: code: message``
and exit code 2 instead of a traceback. Subclasses also inherit the matching builtin so
callers can catch them the usual way.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose.

    Args:
        message: what is wrong and what to do about it.
        path: the file the problem is in, when there is one.
        line: the 1-based line in ``path``, when known.
        code: a short, stable identifier of the kind of problem.
    """

    code = "error"

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        location = ""
        if self.path is not None:
            location = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{location}{self.code}: {self.message}"


class InputError(HarnessError, ValueError):
    """A file or argument given by the user cannot be used as it is."""

    code = "bad-input"


class ConfigError(InputError):
    """A configuration file has a bad key or value."""

    code = "bad-config"


class ModelNotAvailableError(HarnessError, LookupError):
    """A model reference cannot be resolved to weights on this machine."""

    code = "model-unavailable"


class OutputExistsError(HarnessError, FileExistsError):
    """A command would overwrite existing outputs without ``--force``."""

    code = "output-exists"


class CorruptArtifact(InputError):
    """An artifact the harness wrote (a run folder, a manifest, a decision) that cannot be read whole."""

    code = "corrupt-artifact"


class DiskFull(InputError):
    """The device holding an output ran out of space; nothing that was there before was replaced."""

    code = "disk-full"
