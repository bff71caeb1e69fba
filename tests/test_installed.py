"""Outside this repository: the wheel, installed non-editable in a fresh virtualenv, runs `harness init` → `harness gate`.

The new virtualenv sees the test interpreter's site-packages through a path file (torch and
the rest are not reinstalled); that adds plain import paths only, so the editable install of
this repository (a finder registered by its own path file) stays out, and the test checks
that ``harness`` is imported from the installed wheel.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from harness.fileio import sha256_file
from tests.tiny import write_triage_file

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = {"type": "object", "properties": {"category": {"enum": ["billing", "account", "bug", "how_to"]}}}
pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _build_wheel(tmp: Path, env: dict[str, str]) -> Path:
    """Build from a copy of the package sources, so the build leaves nothing in the repository."""
    source = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("harness", "training", "reports"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]  # no download if we can
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(tmp / "dist"), str(source)],
                 tmp, env)
    assert built.returncode == 0, built.stderr
    return next((tmp / "dist").glob("harness-*.whl"))


def _fresh_venv(tmp: Path, wheel: Path, env: dict[str, str]) -> Path:
    venv = tmp / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env).returncode == 0
    site = Path(_run([str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp, env).stdout.strip())
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q", "--no-deps",
                      "--force-reinstall", "--ignore-installed",  # the path file shows an editable harness: install anyway
                      "--no-index", str(wheel)], tmp, env)
    assert installed.returncode == 0, installed.stderr
    return venv


def test_installed_wheel_inits_and_gates_a_task_with_the_builtin_general_items(tmp_path, tiny_checkpoint, tiny_adapters):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}  # nothing from the repo
    env["OMP_NUM_THREADS"] = "1"  # a tiny model gains nothing from threads on a shared machine
    wheel = _build_wheel(tmp_path, env)
    assert "harness/resources/general/items.jsonl" in zipfile.ZipFile(wheel).namelist()
    venv = _fresh_venv(tmp_path, wheel, env)
    project = tmp_path / "project"
    project.mkdir()
    imported = _run([str(venv / "bin/python"), "-c", "import harness, harness.training, harness.reports; "
                     "print(harness.__file__, harness.training.__file__, harness.reports.__file__)"], project, env)
    assert imported.returncode == 0, imported.stderr
    assert all(Path(p).is_relative_to(venv) for p in imported.stdout.split()), imported.stdout  # the wheel, not the repo
    version = _run([str(venv / "bin/python"), "-m", "harness", "--help"], project, env)
    assert version.returncode == 0 and "harness" in version.stdout, version.stderr

    write_triage_file(project / "tickets.jsonl", 40)
    (project / "schema.json").write_text(json.dumps(SCHEMA))
    init = _run([str(venv / "bin/harness"), "init", "--data", "tickets.jsonl", "--schema", "schema.json", "--task", "tickets",
                 "--model", str(tiny_checkpoint)], project, env)
    assert init.returncode == 0, init.stderr
    config = project / "suites/tickets/harness.yaml"  # short generations keep the test quick; the items stay builtin
    text = re.sub(r"max_new_tokens: \d+", "max_new_tokens: 4", config.read_text())
    config.write_text(text.replace("items: builtin:general,", "items: builtin:general, max_new_tokens: 2,"))
    candidate = project / "candidates" / "tickets-1"
    shutil.copytree(tiny_adapters["a"], candidate)
    train = project / "suites/tickets/data/train.jsonl"
    (candidate / "manifest.json").write_text(json.dumps({"task": "tickets", "data": {"dataset": str(train),
                                                                                      "dataset_sha256": sha256_file(train)}}))
    gate = _run([str(venv / "bin/harness"), "gate", "candidates/tickets-1", "--config", "suites/tickets/harness.yaml"],
                project, env)
    assert gate.returncode in (0, 1), gate.stderr  # accepted or not: a verdict, not an error
    decision = json.loads((candidate / "decision.json").read_text())
    assert f"verdict: {decision['verdict'].upper()}" in gate.stdout
    items = Path(decision["rules"]["general"]["items"])
    assert items.is_relative_to(venv) and items.name == "items.jsonl"  # builtin:general, from the installed package
    assert decision["rules"]["general"]["max_new_tokens"] == 2
    general = next(c for c in decision["checks"] if c["name"].startswith("general capability"))
    assert general["n"] == len(items.read_text().splitlines()) > 100
    assert any(c["name"].startswith("forgetting") and c["n"] for c in decision["checks"])

    suite = _run([str(venv / "bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "suites/tickets",
                  "--candidate", "candidates/tickets-1"], project, env)  # the pytest11 entry point of the wheel
    assert suite.returncode in (0, 1) and ("passed" in suite.stdout or "failed" in suite.stdout), suite.stdout + suite.stderr


def test_the_wheel_installs_one_top_level_package(tmp_path):
    """``training/`` and ``reports/`` are folders of the repository, ``harness.training`` and ``harness.reports`` installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    names = zipfile.ZipFile(_build_wheel(tmp_path, env)).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"harness"}
    listed = {str(init.parent.relative_to(ROOT)) for folder in ("harness", "training", "reports")
              for init in (ROOT / folder).rglob("__init__.py")}
    packaged = {name.rsplit("/", 1)[0] for name in names if name.endswith("/__init__.py")}
    expected = {("harness/" + p if not p.startswith("harness") else p) for p in listed}
    assert packaged == expected  # every package folder is in pyproject's list (discovery does not follow package-dir)
