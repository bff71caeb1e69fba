"""Hostile text in the report: inputs people wrote and outputs models wrote are data, never markup.

Every field that reaches the page from a held-out file, a model, a config or a decision carries
script, event handlers, ``</svg>``, ``javascript:`` links, a very long line or a lone surrogate.
The page must show them as text: no element of theirs, nothing executed, the page still whole.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from harness.reports import build_report, write_report

from harness.history import import_paths
from tests.synthetic_runs import write_decision, write_synthetic_run

# Each payload, were it markup, would change the DOM in a way the tests can see.
SCRIPT = '<script>document.title="PWNED-1"</script>'
SVG_BREAK = '</svg></figure><script>document.title="PWNED-2"</script>'
IMG = '<img src=x onerror="document.body.setAttribute(\'data-pwned\',\'3\')">'
LINK = '<a id="pwn-link" href="javascript:document.title=\'PWNED-4\'">click me</a>'
ATTR = '"><b id="pwn-attr">bold</b><i x="'
LONG = "A" * 20_000
LONE = "LONE-MARK lone surrogate"
"""Written as the JSON escape ``\\ud800`` into the results file (what an escaping writer stores for one)."""
TASK = 'tri"><b id="pwn-task">age'
VARIANT = f'fine-tuned{SCRIPT}'
METRIC = f'answer_correct{SVG_BREAK}$x^2$'


def hostile_history(root: Path) -> Path:
    """Two nights of one task whose every data field carries a payload; returns the page written."""
    runs, candidates = root / "runs", root / "candidates"
    prefix = f"{SCRIPT} {SVG_BREAK} {IMG} {LINK} {ATTR} {LONE} {LONG} "
    wrong = f"{IMG}{LINK}{SCRIPT}{LONE}"
    night1 = {VARIANT: [[1]] * 30, "prompt-only": [[1]] * 30}
    night2 = {VARIANT: [[0]] * 20 + [[1]] * 10, "prompt-only": [[1]] * 30}
    first = write_synthetic_run(runs, TASK, "2026-03-01T02:00:00+00:00", night1, metric=METRIC, adapter="a",
                                prefix=prefix, wrong=wrong)
    second = write_synthetic_run(runs, TASK, "2026-03-02T02:00:00+00:00", night2, metric=METRIC, adapter="b",
                                 prefix=prefix, wrong=wrong)
    for run in (first, second):
        results = run / "results.jsonl"
        results.write_text(results.read_text().replace("LONE-MARK", "\\ud800"))
    write_decision(candidates / "cand-a", TASK, "accepted", "2026-03-01T03:00:00+00:00", first, versioned=True)
    decision = write_decision(candidates / "cand-b", TASK, "rejected", "2026-03-02T03:00:00+00:00", second, versioned=True)
    record = json.loads(decision.read_text())
    record["checks"][0].update(name=f"beats prompt-only {SCRIPT}", detail=f"{IMG} {LINK} \ud800 lone surrogate")
    decision.write_text(json.dumps(record))  # json.dumps escapes the lone surrogate; json.loads restores it
    store = root / "h.sqlite"
    import_paths([runs, candidates], store)
    html, _ = write_report(build_report(store, root / "out"), root / "out")
    return html


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    return hostile_history(tmp_path_factory.mktemp("hostile"))


def test_every_payload_is_escaped_text(page):
    html = page.read_text(encoding="utf-8")
    parsed = Elements()
    parsed.feed(html)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags and "i" not in tags
    assert not [a for tag, a in parsed.tags if a.get("id", "") and str(a.get("id")).startswith("pwn-")]
    assert not [a for _, a in parsed.tags for k, v in a.items() if k.startswith("on") or "javascript:" in str(v)
                if not (k == "data-metric" or k == "data-case")]
    assert tags.count("svg") == tags.count("figure") == 1  # the one trend plot, not closed early by a label
    text = "".join(parsed.text)
    for payload in (SCRIPT, IMG, LINK, "</svg></figure><script>", 'tri"><b id="pwn-task">age'):
        assert payload in text  # shown, as text
    assert "A" * 1000 in text and "more characters)" in text and LONG not in text  # a long line shown cut, saying so
    assert "\ufffd lone surrogate" in text  # the lone surrogate replaced, the page written as UTF-8
    assert "$x^2$" in html  # a name with dollars drawn as written, not parsed as TeX


def test_the_markdown_report_is_written_too(page):
    markdown = (page.parent / "report.md").read_text(encoding="utf-8")
    assert "answer_correct" in markdown and "\ud800" not in markdown


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it: apt-get install -y chromium)")
@pytest.mark.slow
def test_in_a_real_browser_no_script_runs_and_the_text_shows(page):
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    command = [CHROMIUM or "chromium", "--headless", *sandbox, "--disable-gpu",
               "--dump-dom", page.as_uri()]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "<title>harness report" in dom and "PWNED" not in dom.split("</title>")[0]
    assert "data-pwned" not in dom.split("<body")[1].split(">")[0]  # no onerror handler ran on the body
    for element in ('<b id="pwn-', '<a id="pwn-link"', "<img", "<script", '<i x="'):
        assert element not in dom  # the DOM the browser built holds none of the payloads' elements
    assert "&lt;script&gt;document.title=\"PWNED-1\"&lt;/script&gt;" in dom  # the payload is on the page, as text
    assert "Regression report" in dom and dom.count('<tr class="case"') >= 20
