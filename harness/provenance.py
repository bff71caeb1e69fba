"""What made an artifact: git state, library versions, machine. Shared by every manifest."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = ("harness", "torch", "transformers", "peft", "datasets", "accelerate", "numpy")


def git_state(cwd: str | Path = ".") -> dict[str, Any]:
    """``{"sha", "dirty"}`` of the git checkout at ``cwd``; nulls outside a checkout."""
    options: dict[str, Any] = {"cwd": cwd, "capture_output": True, "text": True, "check": True, "timeout": 20,
                               "stdin": subprocess.DEVNULL}  # never wait on a prompt or a stuck lock
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], **options).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **options).stdout
        return {"sha": sha, "dirty": bool(status.strip())}
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return {"sha": None, "dirty": None}


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages that decide results."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment(cwd: str | Path = ".") -> dict[str, Any]:
    """Git state (of the checkout holding ``cwd``), package versions, Python and platform."""
    return {"git": git_state(cwd), "packages": package_versions(), "python": platform.python_version(),
            "platform": platform.platform()}
