"""Serving parity in `harness report`: each gate decision's parity figures (identical share, the paired difference
of the primary metric with its interval, the cases that differ most), in the page, the Markdown and a real browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from harness.reports import build_report, write_report

from harness.config.gate import GateRules, GateSection, ParitySection
from harness.gate.parity import parity_check
from harness.history import import_paths
from harness.records import Case, CaseResult, Generation, Score
from tests.synthetic_runs import planted_history

RULES = GateRules.resolve(GateSection(primary="exact", parity=ParitySection(floor=0.8), n_resamples=200, min_cases=5),
                          candidate="fine-tuned", baselines=("prompt-only",), fields=())


def results(texts: list[str]) -> list[CaseResult]:
    return [CaseResult(Case(f"ticket-{i}", "triage", ({"role": "user", "content": "q"},), "yes"),
                       Generation(f"ticket-{i}", "fine-tuned", 0, text), [Score("exact", float(text == "yes"))])
            for i, text in enumerate(texts)]


def write_parity_decision(folder: Path, verdict: str, created_at: str, served: list[str]) -> dict:
    """A decision whose parity check is the real check's record of ``served`` against ten ``yes`` from peft."""
    check = parity_check(results(["yes"] * 10), results(served), RULES).to_dict()
    folder.mkdir(parents=True)
    decision = {"kind": "harness-decision", "schema_version": 2, "verdict": verdict, "task": "triage",
                "candidate": folder.name, "created_at": created_at, "checks": [check], "variants": {}, "run": None}
    (folder / "decision.json").write_text(json.dumps(decision))
    return check


@pytest.fixture
def history(tmp_path) -> Path:
    paths = planted_history(tmp_path)
    write_parity_decision(paths["candidates"] / "cand-served-x4", "rejected", "2026-03-03T03:00:00+00:00",
                          ["yes"] * 6 + ["yes!", "yeah", "zzz", "nos"])
    write_parity_decision(paths["candidates"] / "cand-served", "accepted", "2026-03-04T03:00:00+00:00", ["yes"] * 10)
    import_paths([paths["runs"], paths["candidates"]], tmp_path / "history.sqlite")
    return tmp_path


def test_each_parity_check_is_in_the_report_with_its_figures(history):
    report = build_report(history / "history.sqlite", history / "out")
    assert [(p.candidate, p.verdict) for p in report.parity] == [("cand-served", "pass"), ("cand-served-x4", "fail")]
    passed, failed = report.parity
    assert (passed.identical, passed.n, passed.identical_share, passed.delta, passed.cases) == (10, 10, 1.0, 0.0, [])
    assert (failed.identical, failed.n, failed.identical_share, failed.floor, failed.metric) == (6, 10, 0.6, 0.8, "exact")
    assert failed.delta == pytest.approx(-0.4) and failed.low is not None and failed.low < failed.delta <= failed.high
    assert [c.case for c in failed.cases] == ["ticket-8", "ticket-9", "ticket-7", "ticket-6"]  # least similar first
    assert failed.cases[0].similarity == 0.0 and 0.0 < failed.cases[-1].similarity < 1.0

    html, md = write_report(report, history / "out")
    page = html.read_text()
    table = page[page.index('<table class="parity">'):]
    assert table.count('<tr><td>2026-03-0') == 2
    assert "6/10 (60.0%)" in table and "10/10 (100.0%)" in table and "80.0%" in table
    assert "exact −0.400 [" in table and "exact +0.000 [+0.000, +0.000]" in table
    assert table.index("ticket-8") < table.index("ticket-9") < table.index("ticket-7")
    text = md.read_text()
    assert "## Serving parity" in text and "6/10 identical (floor 80.0%), exact engine − peft −0.400 [" in text
    assert "most different: `ticket-8` (0.00), `ticket-9` (0.33)" in text


def test_without_parity_checks_there_is_no_section_and_a_lost_decision_file_leaves_the_log_line(history):
    (history / "candidates" / "cand-served-x4" / "decision.json").unlink()  # indexed, then gone
    report = build_report(history / "history.sqlite", history / "out")
    assert [p.candidate for p in report.parity] == ["cand-served"]
    html, _ = write_report(report, history / "out")
    assert "serving parity (engine vs local peft) (fail)" in html.read_text().replace("</strong>", "")  # the log line
    shutil.rmtree(history / "candidates" / "cand-served")
    (history / "candidates" / "cand-served-x4").rmdir()
    import_paths([history / "candidates"], history / "fresh.sqlite")
    import_paths([history / "runs"], history / "fresh.sqlite")
    report = build_report(history / "fresh.sqlite", history / "out2")
    html, _ = write_report(report, history / "out2")
    assert report.parity == [] and 'class="parity"' not in html.read_text()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1400, 6000


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it: apt-get install -y chromium)")
def test_the_parity_table_renders_in_a_real_browser(history, tmp_path):
    from matplotlib import image

    html, _ = write_report(build_report(history / "history.sqlite", history / "out"), history / "out")
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    command = [CHROMIUM or "chromium", "--headless", *sandbox, "--disable-gpu", "--hide-scrollbars",
               "--allow-file-access-from-files", f"--window-size={WIDTH},{HEIGHT}"]
    dom = subprocess.run([*command, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    table = dom[dom.index('<table class="parity">'):dom.index("</table>", dom.index('<table class="parity">'))]
    assert table.count('<span class="pill verdict-fail">fail</span>') == 1 and "ticket-8" in table
    shots = {}
    for name, page in (("with", html), ("without", _without_parity(html))):
        shots[name] = tmp_path / f"{name}.png"
        subprocess.run([*command, f"--screenshot={shots[name]}", page.as_uri()], capture_output=True, timeout=120,
                       check=True)
    with_parity, without = ((image.imread(shots[n])[:, :, :3] * 255).round().astype(int) for n in ("with", "without"))
    rows = np.nonzero(np.any(with_parity != without, axis=(1, 2)))[0]
    assert rows.size > 100  # the section takes over 100 pixel rows on the page, and they are not blank:
    drawn = with_parity[rows.min():rows.max() + 1]
    assert len(np.unique(drawn.reshape(-1, 3), axis=0)) > 50
    bad = np.all(np.abs(drawn - np.array((0xFE, 0xE2, 0xE2))) <= 6, axis=2).sum()
    assert bad > 200  # the failing check's red pill


def _without_parity(html: Path) -> Path:
    """The same page with the parity section cut out (what the screenshot is compared with)."""
    text = html.read_text()
    start, end = text.index('<h3 id="parity">'), text.index("</table></div>", text.index('<table class="parity">'))
    out = html.with_name("without-parity.html")
    out.write_text(text[:start] + text[end + len("</table></div>"):])
    return out
