"""Bad input to the core of ``harness eval``, the gate and the registry: exit code and one ``path:line: code`` line.

Each case is what a new user could give: a file where a folder goes, a line nested too deeply,
a backend setting the backend refuses, a document or style file that is a pipe, a candidate
whose manifest names no task, a run where every request of a variant failed. Generations come
from a real HTTP server on 127.0.0.1 (``tests.stub_openai_server``, scripted replies), so no
model loads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import InputError
from tests.helpers import cli, one_line_error
from tests.stub_openai_server import Call, Reply, stub_server
from tests.tiny import write_triage_file

CONFIG = """\
task: triage
model: stub-model
backend:
  kind: openai
  base_url: {url}
  max_retries: 0
  timeout_s: 5
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  plain: {{kind: prompt}}
  broken: {{kind: prompt, system: "BREAK"}}
"""


def breaks_on_system(call: Call) -> Reply:
    """A 400 (not retried) for requests whose system message is ``BREAK``; an echo otherwise."""
    if call.payload["messages"][0].get("content") == "BREAK":
        return Reply(400, {"error": {"message": "scripted 400", "type": "stub"}})
    return Reply()


@pytest.fixture
def server():
    with stub_server(breaks_on_system) as served:
        yield served


@pytest.fixture
def stub_project(tmp_path: Path, server) -> Path:
    """A folder with four held-out cases and a harness.yaml whose backend is the stub server."""
    write_triage_file(tmp_path / "heldout.jsonl", 4)
    (tmp_path / "harness.yaml").write_text(CONFIG.format(url=server[0]))
    return tmp_path


def eval_cli(folder: Path, *extra: str) -> int:
    return cli("eval", "--config", str(folder / "harness.yaml"), "--no-cache", "--runs-dir", str(folder / "runs"), *extra)


def test_runs_dir_that_is_a_file_fails_before_any_generation(stub_project, server, capsys):
    blocker = stub_project / "runs-file"
    blocker.write_text("not a folder\n")
    assert eval_cli(stub_project, "--runs-dir", str(blocker)) == 2
    one_line_error(capsys, f"{blocker}: not-a-folder")
    assert server[1].requests == 0  # nothing was generated and thrown away
    assert blocker.read_text() == "not a folder\n"


def test_runs_dir_below_a_file_fails_before_any_generation(stub_project, server, capsys):
    (stub_project / "f").write_text("x")
    assert eval_cli(stub_project, "--runs-dir", str(stub_project / "f" / "runs")) == 2
    one_line_error(capsys, "not-a-folder")
    assert server[1].requests == 0


@pytest.mark.parametrize("line", [
    '{"id": "q", "question": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"id": "q", "question": "x", "answer": ' + "9" * 5_000 + "}",
    '{"id": "i", "checks": ' + "[" * 100_000 + "]" * 100_000 + "}",
])
def test_cases_line_nested_too_deeply_or_too_long_an_integer(stub_project, server, line, capsys):
    cases = stub_project / "heldout.jsonl"
    cases.write_text('{"id": "q0", "question": "q?", "answer": "a", "accept": ["a"], "source": "s"}\n' * 2 + line + "\n")
    if '"checks"' in line:
        cases.write_text('{"id": "i0", "kind": "k", "prompt": "p", "checks": [{"type": "nonempty"}]}\n' + line + "\n")
    assert eval_cli(stub_project) == 2
    one_line_error(capsys, f"{cases}:{len(cases.read_text().splitlines())}: invalid-json")
    assert server[1].requests == 0


@pytest.mark.parametrize("old, new, message", [
    ("base_url: http://", "base_url: ftp://", "base_url must be an http:// or https:// URL"),
    ("base_url: http://", "base_url: ", "base_url must be an http:// or https:// URL"),
    ("kind: openai", "kind: local\n  device: tpu", "device must be one of cpu, cuda, mps"),
])
def test_a_setting_the_backend_refuses_is_reported_at_the_backend_line(stub_project, server, old, new, message, capsys):
    config = stub_project / "harness.yaml"
    text = config.read_text().replace(old, new)
    if "kind: local" in text:  # only the device stays of the openai settings
        text = "\n".join(line for line in text.splitlines() if not line.startswith(("  base_url", "  max_retries", "  timeout")))
    config.write_text(text + "\n")
    assert eval_cli(stub_project) == 2
    one_line_error(capsys, f"{config}:3: bad-config: ", message)
    assert server[1].requests == 0


def test_backend_error_from_the_api_keeps_the_config_line(stub_project):
    from harness.config.eval_config import load_eval_config
    from harness.errors import ConfigError
    from harness.eval.backends import make_backend

    config = stub_project / "harness.yaml"
    config.write_text(config.read_text().replace("  max_retries: 0\n", "").replace("base_url: http", "base_url: gopher"))
    with pytest.raises(ConfigError) as info:
        make_backend(load_eval_config(config))
    assert (info.value.path, info.value.line) == (str(config), 3)


def test_registry_root_that_is_a_file_is_exit_2(tmp_path, capsys):
    root = tmp_path / "registry.txt"
    root.write_text("x")
    assert main(["registry", "--root", str(root), "list"]) == 2
    one_line_error(capsys, f"{root}: not-a-folder", "not a folder")


def test_registry_list_of_an_empty_folder_is_still_exit_0(tmp_path, capsys):
    assert main(["registry", "--root", str(tmp_path), "list"]) == 0
    assert capsys.readouterr().err == ""


def rag_config(stub_project: Path, corpus: Path) -> Path:
    config = stub_project / "harness.yaml"
    config.write_text(config.read_text().replace('broken: {kind: prompt, system: "BREAK"}',
                                                 f"rag: {{kind: rag, corpus: {corpus}, corpus_kind: documents}}"))
    return config


def test_documents_corpus_with_a_pipe_is_refused_not_read(stub_project, server, capsys):
    docs = stub_project / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nsome text about invoices\n")
    os.mkfifo(docs / "b.md")
    rag_config(stub_project, docs)
    assert eval_cli(stub_project) == 2  # a blocked read would hang here
    one_line_error(capsys, f"{docs / 'b.md'}: not-a-file", "block")
    assert server[1].requests == 0


def test_documents_corpus_not_utf8_is_one_line(stub_project, capsys):
    docs = stub_project / "docs"
    docs.mkdir()
    (docs / "a.md").write_bytes(b"# A\n\n\xff\xfe bytes\n")
    rag_config(stub_project, docs)
    assert eval_cli(stub_project) == 2
    one_line_error(capsys, f"{docs / 'a.md'}: not-utf8")


@pytest.mark.parametrize("content, code", [
    (None, "not-a-file"),                          # a FIFO
    ("min_words: [1\n", "bad-config"),             # YAML syntax
    ("banned_patterns: ['(']\n", "bad-config"),    # a regular expression that does not compile
    ("min_words: many\n", "bad-config"),
    ("banned_phrases: oops\n", "bad-config"),      # a string, not a list
    (b"\xff\xfe\n", "not-utf8"),
])
def test_bad_style_rules_file_is_one_line(stub_project, content, code, capsys):
    style = stub_project / "style.yaml"
    if content is None:
        os.mkfifo(style)
    elif isinstance(content, bytes):
        style.write_bytes(content)
    else:
        style.write_text(content)
    config = stub_project / "harness.yaml"
    config.write_text(config.read_text() + "scoring: {style: ./style.yaml}\n")
    assert eval_cli(stub_project) == 2
    one_line_error(capsys, f"{style}", f": {code}: ")


def test_style_rules_file_that_is_a_folder(stub_project, capsys):
    (stub_project / "style.yaml").mkdir()
    config = stub_project / "harness.yaml"
    config.write_text(config.read_text() + "scoring: {style: ./style.yaml}\n")
    assert eval_cli(stub_project) == 2
    one_line_error(capsys, "style.yaml: not-a-file", "directory")


@pytest.mark.parametrize("manifest", [{}, {"task": None}, {"task": ["triage"]}, {"task": 3}, {"task": ""}])
@pytest.mark.slow
def test_gate_refuses_a_manifest_without_a_string_task(manifest, tiny_adapters, tmp_path, stub_project, capsys):
    import shutil

    candidate = tmp_path / "cand"
    shutil.copytree(tiny_adapters["a"], candidate)
    (candidate / "manifest.json").write_text(json.dumps(manifest))
    assert main(["gate", str(candidate), "--config", str(stub_project / "harness.yaml"), "--runs-dir",
                 str(tmp_path / "runs")]) == 2
    one_line_error(capsys, f"{candidate / 'manifest.json'}: bad-manifest", "names no task")
    assert not (candidate / "decision.json").exists()


@pytest.mark.parametrize("manifest", [{}, {"task": ["triage"]}, {"task": {"a": 1}}])
def test_promotion_refuses_a_manifest_without_a_string_task(manifest, tmp_path, capsys):
    from harness.gate.promote import promote
    from harness.registry.index import INDEX

    candidate = tmp_path / "cand"
    candidate.mkdir()
    (candidate / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="names no task"):
        promote(candidate, tmp_path, force=True)
    assert main(["registry", "--root", str(tmp_path), "promote", "cand", "--force"]) == 2
    one_line_error(capsys, "bad-manifest", "names no task")
    assert not (tmp_path / INDEX).exists()


def test_eval_exits_1_when_every_generation_of_a_variant_failed(stub_project, server, capsys):
    assert eval_cli(stub_project) == 1
    out, err = capsys.readouterr()
    assert "every generation of variant 'broken' failed" in err and "unusable" in err and "plain" not in err
    run = Path(out.strip().splitlines()[-1])
    results = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(results) == 8  # the run is still written, for the record
    assert eval_cli(stub_project, "--variant", "plain") == 0
    assert server[1].requests == 4 + 4 + 4


def test_eval_help_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "1 when every generation of some variant failed" in " ".join(capsys.readouterr().out.split())


# --- what a new user tried on every verb (item 8 of issue 16) ---

@pytest.mark.parametrize("verb", ["eval", "train"])
@pytest.mark.parametrize("content, code", [
    (b"\xff\xfe\x00binary", "not-utf8"),
    (b"a: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "too-deep"),
])
@pytest.mark.slow
def test_a_config_that_is_not_yaml_text_is_one_line(verb, content, code, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_bytes(content)
    assert (cli(verb, "--config", str(config)) if verb == "eval" else cli(verb, str(config))) == 2
    one_line_error(capsys, f"{config}: {code}: ")


@pytest.mark.parametrize("verb, config_text, message", [
    ("eval", "base_model: smollm2-135m-instruct\ndataset: ./d.jsonl\ntask: t\n", "unknown key base_model"),
    ("train", "task: t\nmodel: m\ncases: ./c.jsonl\nvariants: {a: {kind: prompt}}\n", "unknown key model"),
])
def test_the_other_kind_of_config_is_refused_at_its_first_foreign_key(verb, config_text, message, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(config_text)
    assert (cli(verb, "--config", str(config)) if verb == "eval" else cli(verb, str(config))) == 2
    one_line_error(capsys, f"{config}:", message)


@pytest.mark.parametrize("old, new, where", [
    ("model: stub-model", "model: [a, b]", ":2: bad-config: model must be a non-empty string"),
    ("backend:\n  kind: openai", "backend: [openai]\nx:\n  kind: openai", ":3: bad-config: backend must be a mapping"),
])
def test_top_level_values_of_the_wrong_type(stub_project, old, new, where, capsys):
    config = stub_project / "harness.yaml"
    text = config.read_text().replace(old, new)
    if "x:" in text:  # drop the orphaned backend settings
        text = text.split("x:\n")[0] + "cases:" + text.split("cases:")[1]
    config.write_text(text)
    assert eval_cli(stub_project) == 2
    one_line_error(capsys, f"{config}{where}")


def test_an_empty_cases_file_is_refused_before_generating(stub_project, server, capsys):
    cases = stub_project / "heldout.jsonl"
    cases.write_text("\n")
    assert eval_cli(stub_project) == 2
    one_line_error(capsys, f"{cases}: no-cases")
    assert server[1].requests == 0


@pytest.mark.parametrize("argv", [
    ["split", "{empty}", "--eval-split", "0.2", "--out", "{tmp}/out"],
    ["ask", "{empty}", "--model", "none-needed"],
    ["harvest", "{empty}", "--reference", "{data}", "--out", "{tmp}/queue.jsonl"],
])
def test_an_empty_data_file_is_exit_2_not_an_empty_result(argv, tmp_path, capsys):
    empty, data = tmp_path / "empty.jsonl", write_triage_file(tmp_path / "data.jsonl", 8)
    empty.write_text("")
    assert cli(*[a.format(empty=empty, data=data, tmp=tmp_path) for a in argv]) == 2
    line = one_line_error(capsys, f"{empty}: no-")
    assert "no usable log line" in line or "no examples" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "queue.jsonl").exists()


def test_lint_of_an_empty_file_is_a_finding(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert cli("lint", str(empty), "--model", "none") == 1
    assert f"{empty}:0: no-examples: " in capsys.readouterr().out


GATE_CONFIG = """\
task: triage
model: {model}
cases: ./heldout.jsonl
variants:
  base: {{kind: prompt}}
  cand: {{kind: adapter, adapter: ./cand}}
scoring: {{exact_match: true}}
gate:
  candidate: cand
  baselines: [base]
  primary: exact_match
  general: {{items: ./items.jsonl}}
  forgetting: {{text: ./text.jsonl}}
"""


@pytest.mark.parametrize("name, content, where", [
    ("text.jsonl", '{"text": "fine"}\n{"txt": "typo"}\n', "text.jsonl:2: bad-text"),
    ("text.jsonl", "\n", "text.jsonl: no-text"),
    ("text.jsonl", None, "text.jsonl: not-a-file"),
    ("items.jsonl", '{"id": "i", "kind": "k", "prompt": "p"}\n', "items.jsonl:1: "),
])
@pytest.mark.slow
def test_gate_files_are_checked_before_the_gate_runs(name, content, where, tiny_checkpoint, tiny_adapters, tmp_path,
                                                     capsys):
    import shutil

    candidate = tmp_path / "cand"
    shutil.copytree(tiny_adapters["a"], candidate)
    (candidate / "manifest.json").write_text(json.dumps({"task": "triage"}))
    write_triage_file(tmp_path / "heldout.jsonl", 4)
    (tmp_path / "items.jsonl").write_text('{"id": "i", "kind": "k", "prompt": "p", "checks": [{"type": "nonempty"}]}\n')
    (tmp_path / "text.jsonl").write_text('{"text": "fine"}\n')
    if content is None:
        (tmp_path / name).unlink()
        os.mkfifo(tmp_path / name)
    else:
        (tmp_path / name).write_text(content)
    (tmp_path / "harness.yaml").write_text(GATE_CONFIG.format(model=tiny_checkpoint))
    assert cli("gate", str(candidate), "--config", str(tmp_path / "harness.yaml"), "--runs-dir", str(tmp_path / "runs")) == 2
    one_line_error(capsys, where)
    assert not (candidate / "decision.json").exists() and not (tmp_path / "runs").exists()
