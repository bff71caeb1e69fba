"""The report page in a real browser: headless Chromium loads index.html from disk.

Skipped (with the reason) where Chromium is not installed; ``.ci/run`` installs Debian's
``chromium`` so CI always runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from harness.reports import build_report, write_report
from matplotlib import image

from harness.history import import_paths
from tests.synthetic_runs import planted_history

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs "
                                                                           "it: apt-get install -y chromium)")]
WIDTH, HEIGHT = 1400, 4200


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses to run as root with its sandbox
    command = [CHROMIUM or "chromium", "--headless", *sandbox, "--disable-gpu", "--hide-scrollbars",
               "--allow-file-access-from-files", f"--window-size={WIDTH},{HEIGHT}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    paths = planted_history(root)
    import_paths([paths["runs"], paths["candidates"]], root / "h.sqlite")
    html, _ = write_report(build_report(root / "h.sqlite", root / "out"), root / "out")
    return html


def test_dom_has_the_tables_plots_and_the_flagged_regression(page):
    dom = chromium("--dump-dom", page.as_uri()).stdout
    assert "1 regression beyond noise" in dom
    assert '<li class="regression"><strong>fine-tuned · answer_correct</strong>' in dom
    assert dom.count('<table class="metrics">') == 2 and dom.count('<figure class="plot"') == 2
    assert dom.count("<svg") == 2  # one trend figure per task
    assert dom.count('<tr class="case" data-label="newly failing"') == 25 + 2  # triage (the first 25) + facts
    assert 'data-label="newly fixed"' in dom and 'data-label="flaky"' in dom


def test_screenshot_shows_the_page_rendered(page, tmp_path):
    shot = tmp_path / "page.png"
    chromium(f"--screenshot={shot}", page.as_uri())
    pixels = image.imread(shot)[:, :, :3]
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    rgb = (pixels * 255).round().astype(int)

    def present(color: tuple[int, int, int], tolerance: int = 6) -> int:
        return int(np.all(np.abs(rgb - np.array(color)) <= tolerance, axis=2).sum())

    assert present((0xFE, 0xE2, 0xE2)) > 2000  # the red regression banner and flagged cells
    assert present((0x1F, 0x77, 0xB4)) > 150   # matplotlib's first line colour: the trend plots were drawn
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 200  # text, tables and plots, not a blank page
