"""Helpers shared by the fault tests (``test_reliability.py``, ``test_reliability_core.py``)."""

from __future__ import annotations

import threading

import pytest

from harness.cli.main import main


def cli(*args: object, timeout_s: float = 60) -> int:
    """Run the CLI in a thread; a call still blocked after ``timeout_s`` fails the test (a hang)."""
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(main([str(a) for a in args])), daemon=True)
    worker.start()
    worker.join(timeout_s)
    assert result, f"harness {' '.join(map(str, args))} hung for {timeout_s} s"
    return result[0]


def one_line_error(capsys: pytest.CaptureFixture[str], *parts: str) -> str:
    """The last command's stderr: one ``harness`` line, no traceback, holding every part."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("harness ")]
    assert len(lines) == 1, err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]
