"""The first hour of a new team, in the seed's order: init → eval (baselines) → train → decide --promote → pytest.

Held-out advice with many classes and a small split; ``harness eval`` before any adapter exists
(the baselines run, the adapter variant is skipped with one line and recorded in the manifest);
the ladder evaluates the latest candidate when nothing is deployed; and the whole path from a
fresh virtualenv, the wheel installed non-editable, on the shipped ``suites/returns`` data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.cli.main import main
from harness.config.eval_config import load_eval_config
from harness.data.heldout_size import MIN_PER_CLASS, advise
from harness.data.load import load_examples
from harness.data.split import assign
from harness.manifests import read_run_manifest
from tests.test_plugin import CONFIG, make_candidate
from tests.tiny import write_triage_file

ROOT = Path(__file__).resolve().parents[1]
RETURNS = ROOT / "suites" / "returns"
LABELS = [f"queue_{i:02d}" for i in range(24)]


WORDS = ("invoice password crash export login refund chart upload plan token widget sync mobile email report team "
         "billing screen folder printer network backup calendar contract shipment warranty address budget meeting "
         "license server laptop badge parking payroll vendor kitchen elevator heating").split()


def _many_classes(path: Path, n: int) -> Path:
    """``n`` examples over 24 classes of one enum field (labels cycle, so every class has n/24 examples); the
    messages are random word strings, so no two are near duplicates (lint stays clean across a split)."""
    import random

    rng = random.Random(0)
    lines = [json.dumps({"messages": [{"role": "user", "content": " ".join(rng.sample(WORDS, 8)) + f" ({i})"},
                                      {"role": "assistant", "content": json.dumps({"queue": LABELS[i % 24]})}]})
             for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_many_classes_and_a_small_split_get_per_class_counts_and_a_larger_split(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _many_classes(tmp_path / "routes.jsonl", 480)
    (tmp_path / "schema.json").write_text(json.dumps({"type": "object", "properties": {"queue": {"enum": LABELS}}}))
    assert main(["init", "--data", "routes.jsonl", "--schema", "schema.json", "--task", "routes", "--eval-split", "0.05"]) == 0
    out = capsys.readouterr().out
    held = load_examples(tmp_path / "suites/routes/data/heldout.jsonl")
    advice = advise(held, load_examples(tmp_path / "routes.jsonl"), ["queue"], 50)
    assert not advice.enough and advice.fields[0].smallest[1] < MIN_PER_CLASS
    assert set(advice.fields[0].total) == {json.dumps(label) for label in LABELS}  # every class, held out or not
    assert f"held-out: {len(held)} of 480 examples; the gate detects a paired difference of about {advice.mde:.2f}" in out
    assert re.search(r"  queue: queue_00 \d+, queue_01 \d+, .*queue_23 \d+ \(smallest: queue_\d\d \d+; ", out)
    assert advice.suggested_split is not None and f"use --eval-split {advice.suggested_split:g}" in out
    # the suggestion is the smallest split (in steps of 0.05) that init's own split makes enough
    everything = load_examples(tmp_path / "routes.jsonl")
    larger = advise(assign(everything, advice.suggested_split, 0).heldout, everything, ["queue"], 50)
    assert larger.enough and len(assign(everything, advice.suggested_split, 0).heldout) >= 50
    assert not advise(assign(everything, advice.suggested_split - 0.05, 0).heldout, everything, ["queue"], 50).enough
    assert advice.suggested_split >= 0.25 and larger.mde < advice.mde  # 20 a class need at least 5/20 held out


def test_a_class_too_rare_for_any_split_is_named(tmp_path):
    _many_classes(tmp_path / "routes.jsonl", 960)  # 40 of each class: half of them hold out 5 or more
    rare = json.dumps({"messages": [{"role": "user", "content": "the one odd request"},
                                    {"role": "assistant", "content": json.dumps({"queue": "rare"})}]})
    (tmp_path / "routes.jsonl").write_text((tmp_path / "routes.jsonl").read_text() + rare + "\n")
    examples = load_examples(tmp_path / "routes.jsonl")
    advice = advise(assign(examples, 0.1, 0).heldout, examples, ["queue"], 50)
    assert advice.short_classes == ['queue="rare" (1 in all)']
    assert any("add examples of them" in line for line in advice.lines(0.1))


def test_too_little_data_for_min_cases_and_outputs_without_the_field_are_said_not_guessed(tmp_path):
    _many_classes(tmp_path / "routes.jsonl", 60)
    examples = load_examples(tmp_path / "routes.jsonl")
    advice = advise(assign(examples, 0.1, 0).heldout, examples, ["queue", "missing"], 50)
    assert advice.suggested_split is None and not advice.enough
    text = "\n".join(advice.lines(0.1))
    assert "no split up to 0.5 of 60 examples holds out min_cases 50: add data" in text
    assert "  missing: no output has this field" in text


def test_lint_reports_the_held_out_advice_of_the_default_split_and_of_a_given_held_out_file(tmp_path, capsys):
    _many_classes(tmp_path / "routes.jsonl", 240)
    (tmp_path / "schema.json").write_text(json.dumps({"type": "object", "properties": {"queue": {"enum": LABELS}}}))
    args = ["lint", str(tmp_path / "routes.jsonl"), "--schema", str(tmp_path / "schema.json"), "--model", "none"]
    assert main(args) == 0
    out = capsys.readouterr().out
    default = assign(load_examples(tmp_path / "routes.jsonl"), 0.1, 0).heldout
    assert f"held-out: {len(default)} of 240 examples" in out and "  queue: queue_00 " in out
    assert main([*args, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["heldout_advice"]["heldout"] == len(default) and not document["heldout_advice"]["enough"]
    assert sum(document["heldout_advice"]["per_class"]["queue"].values()) == len(default)
    split = assign(load_examples(tmp_path / "routes.jsonl"), 0.3, 0)  # as `harness init --eval-split 0.3` cuts it
    for name, side in (("train", split.train), ("heldout", split.heldout)):
        (tmp_path / f"{name}.jsonl").write_text("".join(e.to_json_line() + "\n" for e in side))
    args = ["lint", str(tmp_path / "train.jsonl"), "--heldout", str(tmp_path / "heldout.jsonl"), *args[2:]]
    assert main([*args, "--format", "json"]) == 0
    given = json.loads(capsys.readouterr().out)["heldout_advice"]
    assert given["heldout"] == len(split.heldout) and given["total"] == 240
    assert given["suggested_eval_split"] == json.loads(json.dumps(document["heldout_advice"]))["suggested_eval_split"]


def test_init_prints_the_next_steps_in_the_seeds_order_and_writes_replay_on(tmp_path, monkeypatch, capsys):
    from harness.training.config import load_config

    monkeypatch.chdir(tmp_path)
    shutil.copy(RETURNS / "data" / "returns.jsonl", tmp_path / "returns.jsonl")
    shutil.copy(RETURNS / "schema.json", tmp_path / "schema.json")
    assert main(["init", "--data", "returns.jsonl", "--schema", "schema.json", "--task", "returns", "--eval-split", "0.2"]) == 0
    out = capsys.readouterr().out
    steps = re.findall(r"^  \d\. (\S+ \S+)", out, flags=re.MULTILINE)
    assert steps == ["harness lint", "harness eval", "harness train", "harness decide", "pytest suites/returns",
                     "harness eval"], out
    assert "harness decide --config suites/returns/harness.yaml --promote" in out and "harness report" in out
    scoring = load_eval_config(tmp_path / "suites/returns/harness.yaml").scoring
    assert scoring.fields == ("intent", "urgent") and scoring.similar_fields == {"summary": "embedding"}
    replay = load_config(tmp_path / "suites/returns/lora.yaml").replay
    assert (replay.prompts, replay.loss, replay.kl_weight) == ("builtin:replay", "kl", 100)
    test_file = (tmp_path / "suites/returns/test_returns_gate.py").read_text()
    assert "def test_the_baselines_run_on_the_held_out_set(harness_run" in test_file


@pytest.fixture
def tiny_suite(tmp_path, tiny_checkpoint, monkeypatch):
    """A task with prompt-only and an adapter variant on the tiny model; its own cache and registry."""
    monkeypatch.chdir(tmp_path)
    write_triage_file(tmp_path / "train.jsonl", 20)
    write_triage_file(tmp_path / "heldout.jsonl", 8, offset=500)
    (tmp_path / "harness.yaml").write_text(CONFIG.format(model=tiny_checkpoint))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_REGISTRY", str(tmp_path / "candidates"))
    return tmp_path


@pytest.mark.slow
def test_eval_before_any_adapter_runs_the_baselines_and_names_the_skipped_variant(tiny_suite, capsys):
    assert main(["eval", "--config", "harness.yaml", "--runs-dir", "runs"]) == 0
    captured = capsys.readouterr()
    skipped = [line for line in captured.err.splitlines() if "skipped variant" in line]
    assert len(skipped) == 1 and skipped[0].startswith("harness eval: skipped variant 'fine-tuned': no current adapter "
                                                       f"for task 'triage' in {tiny_suite / 'candidates'}: train one")
    assert "prompt-only" in captured.out and "fine-tuned" not in captured.out
    run = next((tiny_suite / "runs").iterdir())
    manifest = read_run_manifest(run)
    assert set(manifest.variants) == {"prompt-only"} and set(manifest.skipped) == {"fine-tuned"}
    assert "no current adapter" in json.loads((run / "manifest.json").read_text())["skipped"]["fine-tuned"]
    # asked for by name, the adapter variant is not skipped: an error that says how to get one
    assert main(["eval", "--config", "harness.yaml", "--variant", "fine-tuned", "--runs-dir", "runs"]) == 2
    assert "no-adapter" in capsys.readouterr().err


@pytest.mark.slow
def test_decide_evaluates_the_latest_candidate_when_none_is_deployed(tiny_suite, tiny_adapters, capsys):
    candidate = make_candidate(SimpleNamespace(path=tiny_suite), tiny_adapters)  # what it reads of a pytester
    main(["decide", "--config", "harness.yaml", "--runs-dir", "runs"])
    out = capsys.readouterr().out
    assert (f"fine-tuned: no adapter is deployed for task 'triage': evaluated its latest candidate {Path(candidate).name}"
            in out)
    assert "not on the ladder" not in out
    ladder = json.loads(next((tiny_suite / "candidates/decisions/triage").glob("ladder.json")).read_text())
    assert [r["variant"] for r in ladder["rungs"]] == ["prompt-only", "fine-tuned"]
    assert Path(ladder["rungs"][1]["reference"]) == Path(candidate).resolve()


def _edit(path: Path, *replacements: tuple[str, str]) -> None:
    text = path.read_text()
    for old, new in replacements:
        assert old in text, (old, path)
        text = text.replace(old, new)
    path.write_text(text)


@pytest.mark.slow
def test_the_first_hour_from_a_fresh_virtualenv_ends_in_a_deployment_that_passes_its_suite(tmp_path):
    """init → eval (baselines, before any training) → train → decide --promote → pytest suites/returns: exit 0.

    A random tiny model writes no JSON, so the test takes the schema floor out of the config (every
    rung would fail it, and the ladder would rightly deploy nothing); everything else is as init wrote it,
    with shorter generations and less replay to keep the test quick. The chain model answers " fine."
    and stops, so its self-distilled replay replies are usable.
    """
    from tests.test_installed import _build_wheel, _fresh_venv
    from tests.tiny_chain import make_chain_checkpoint

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"OMP_NUM_THREADS": "1", "HARNESS_CACHE_DIR": str(tmp_path / "cache"), "HARNESS_HISTORY": "off"}
    venv = _fresh_venv(tmp_path, _build_wheel(tmp_path, env), env)
    model = make_chain_checkpoint(tmp_path / "chain")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(RETURNS / "data" / "returns.jsonl", project / "returns.jsonl")
    shutil.copy(RETURNS / "schema.json", project / "schema.json")

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(venv / "bin/harness"), *args], cwd=project, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"harness {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    init = harness("init", "--data", "returns.jsonl", "--schema", "schema.json", "--task", "returns",
                   "--eval-split", "0.25", "--model", str(model))  # what lint and init advise for this data
    assert "harness eval --config suites/returns/harness.yaml" in init.stdout and "too small" not in init.stdout
    suite = project / "suites" / "returns"
    config = suite / "harness.yaml"
    config.write_text(re.sub(r"max_new_tokens: \d+", "max_new_tokens: 8", config.read_text()))
    _edit(config, ("  floors: {schema_valid: 0.95}\n", ""),
          ("items: builtin:general,", "items: builtin:general, max_new_tokens: 2,"))
    _edit(suite / "lora.yaml", ("share: 1.0 ", "share: 0.1 "), ("max_new_tokens: 128", "max_new_tokens: 8"),
          ("epochs: 2", "epochs: 1"), ("batch_size: 8", "batch_size: 32"))

    baselines = harness("eval", "--config", "suites/returns/harness.yaml")
    assert "skipped variant 'fine-tuned'" in baselines.stderr
    assert re.search(r"^prompt-only +77 ", baselines.stdout, flags=re.MULTILINE) and "runs/" in baselines.stdout
    assert "similarity:summary" in baselines.stdout  # the free-text field, scored by real embeddings
    candidate = harness("train", "suites/returns/lora.yaml").stdout.strip().splitlines()[-1]
    assert Path(candidate).parent == project / "candidates"
    decided = harness("decide", "--config", "suites/returns/harness.yaml", "--promote")
    assert f"evaluated its latest candidate {Path(candidate).name}" in decided.stdout
    assert "deployed " in decided.stdout
    deployed = json.loads((project / "candidates" / "registry.json").read_text())["tasks"]["returns"]
    assert deployed["current"] and f"deployed {deployed['current']} ({deployed['kind']}) for returns" in decided.stdout
    suite_run = subprocess.run([str(venv / "bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "suites/returns"],
                               cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert suite_run.returncode == 0, suite_run.stdout + suite_run.stderr
    assert re.search(r"^\d+ passed", suite_run.stdout.splitlines()[-1]) and "failed" not in suite_run.stdout


@pytest.mark.slow
def test_only_the_tasks_own_reference_gets_its_latest_candidate(tmp_path, tiny_adapters, monkeypatch):
    """``current:<other task>`` (the facts suite points at triage's adapter) stays off the ladder, as before."""
    from harness.gate.ladder.run import resolve_rungs

    monkeypatch.setenv("HARNESS_REGISTRY", str(tmp_path / "candidates"))
    write_triage_file(tmp_path / "heldout.jsonl", 8)
    write_triage_file(tmp_path / "train.jsonl", 20)
    make_candidate(SimpleNamespace(path=tmp_path), tiny_adapters)  # a triage candidate, nothing deployed
    (tmp_path / "harness.yaml").write_text(CONFIG.format(model="smollm2-135m-instruct"))
    own = load_eval_config(tmp_path / "harness.yaml")
    _, absent, stand_ins = resolve_rungs(own, None)
    assert not absent and stand_ins["fine-tuned"].startswith("no adapter is deployed for task 'triage': evaluated its "
                                                             "latest candidate triage-1 (")
    (tmp_path / "harness.yaml").write_text(CONFIG.format(model="smollm2-135m-instruct").replace("task: triage",
                                                                                             "task: facts"))
    _, absent, stand_ins = resolve_rungs(load_eval_config(tmp_path / "harness.yaml"), None)
    assert not stand_ins and "no current adapter for task 'triage'" in absent["fine-tuned"]
