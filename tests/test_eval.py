"""`harness eval` end to end on a tiny model: variants, the cache, resume, the run folder, config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.config.eval_config import load_eval_config
from harness.errors import ConfigError
from harness.eval.runner import EvalOptions, run_eval
from harness.manifests import read_run_manifest
from tests.tiny import write_triage_file

pytestmark = pytest.mark.slow

CONFIG = """\
task: triage
model: {model}
backend: {{kind: local, batch_size: 4}}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  prompt-only:
    kind: prompt
    system: "Reply with JSON."
    few_shot: [{{user: "hello", assistant: '{{"category": "other"}}'}}]
  rag:
    kind: rag
    corpus: ./train.jsonl
    k: 2
  fine-tuned:
    kind: adapter
    adapter: {adapter}
"""


@pytest.fixture
def tiny_eval_project(tmp_path, tiny_checkpoint, tiny_adapters) -> Path:
    """A folder with train/held-out data and a harness.yaml on the tiny random model and its adapter ``a``."""
    write_triage_file(tmp_path / "train.jsonl", 30)
    write_triage_file(tmp_path / "heldout.jsonl", 6, offset=1000)
    (tmp_path / "harness.yaml").write_text(CONFIG.format(model=tiny_checkpoint, adapter=tiny_adapters["a"]))
    return tmp_path


def options(folder: Path, **kwargs) -> EvalOptions:
    return EvalOptions(runs_dir=folder / "runs", cache_path=folder / "cache.sqlite", progress=False, **kwargs)


def test_run_writes_manifest_and_results_for_every_variant(tiny_eval_project):
    run = run_eval(load_eval_config(tiny_eval_project / "harness.yaml"), options(tiny_eval_project))
    lines = (run.path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 6 * 3
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert set(manifest["variants"]) == {"prompt-only", "rag", "fine-tuned"}
    assert manifest["variants"]["fine-tuned"]["adapter"]["sha256"]
    assert manifest["cases"]["count"] == 6 and len(manifest["cases"]["sha256"]) == 64
    assert manifest["backend"]["kind"] == "local" and manifest["decoding"]["max_new_tokens"] == 4
    assert read_run_manifest(run.path) == run.manifest and run.manifest.to_dict() == manifest  # typed, both ways
    assert manifest["schema_version"] == 1 and run.manifest.variants["fine-tuned"].adapter_sha256
    assert all(not r.generation.cached and r.generation.error is None for r in run.results)


def test_rerun_is_served_from_the_cache_and_refresh_regenerates(tiny_eval_project):
    config = load_eval_config(tiny_eval_project / "harness.yaml")
    first = run_eval(config, options(tiny_eval_project))
    second = run_eval(config, options(tiny_eval_project))
    assert all(r.generation.cached for r in second.results)
    assert [r.generation.text for r in first.results] == [r.generation.text for r in second.results]
    refreshed = run_eval(config, options(tiny_eval_project, cache_mode="refresh", variants=["rag"]))
    assert refreshed.results and not any(r.generation.cached for r in refreshed.results)
    uncached = run_eval(config, options(tiny_eval_project, cache_mode="off", variants=["rag"], limit=2))
    assert len(uncached.results) == 2 and not any(r.generation.cached for r in uncached.results)


def test_interrupted_run_resumes_from_the_cache(tiny_eval_project, monkeypatch):
    from harness.eval.backends.local import LocalBackend

    config = load_eval_config(tiny_eval_project / "harness.yaml")
    real = LocalBackend.generate
    calls = {"n": 0}

    def interrupt_on_second_chunk(self, requests, decoding):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, requests, decoding)

    monkeypatch.setattr(LocalBackend, "generate", interrupt_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_eval(config, options(tiny_eval_project, variants=["prompt-only"], chunk_size=2))
    monkeypatch.undo()
    assert not (tiny_eval_project / "runs").exists() or not list((tiny_eval_project / "runs").iterdir())  # no half-written run
    resumed = run_eval(config, options(tiny_eval_project, variants=["prompt-only"], chunk_size=2))
    assert [r.generation.cached for r in resumed.results].count(True) == 2  # the first chunk survived


def test_repeats_give_one_result_per_sample(tiny_eval_project):
    config = load_eval_config(tiny_eval_project / "harness.yaml")
    run = run_eval(config, options(tiny_eval_project, variants=["prompt-only"], repeats=2, limit=3))
    assert sorted((r.case.id, r.generation.sample) for r in run.results) == sorted(
        (case_id, s) for case_id in {r.case.id for r in run.results} for s in (0, 1))


def test_cli_eval_prints_a_summary_and_the_run(tiny_eval_project, capsys, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tiny_eval_project / "hc"))
    code = main(["eval", "--config", str(tiny_eval_project / "harness.yaml"), "--variant", "rag", "--limit", "2",
                 "--runs-dir", str(tiny_eval_project / "runs")])
    out = capsys.readouterr().out
    assert code == 0 and "rag" in out and "latency_p50_s" in out and str(tiny_eval_project / "runs") in out


@pytest.mark.parametrize(("edit", "message"), [
    (("  rag:\n    kind: rag", "  rag:\n    kind: retrieval"), "variants.rag.kind must be one of prompt, rag, adapter"),
    (("    k: 2", "    kk: 2"), "unknown key variants.rag.kk; allowed in variants.rag: kind, system, corpus"),
    (("{kind: local, batch_size: 4}", "{kind: vllm}"), "backend.kind must be one of local, openai"),
    (("decoding: {max_new_tokens: 4}", "decoding: {max_new_tokens: 0}"), "decoding.max_new_tokens must be >= 1"),
    (("task: triage\n", ""), "missing required key task"),
])
def test_config_errors_name_key_and_allowed_values(tiny_eval_project, edit, message):
    path = tiny_eval_project / "harness.yaml"
    path.write_text(path.read_text().replace(*edit))
    with pytest.raises(ConfigError) as info:
        load_eval_config(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_unknown_variant_and_bad_adapter_override_exit_2(tiny_eval_project, capsys):
    config = str(tiny_eval_project / "harness.yaml")
    assert main(["eval", "--config", config, "--variant", "nope"]) == 2
    assert "unknown variant 'nope'; known: prompt-only, rag, fine-tuned" in capsys.readouterr().err
    assert main(["eval", "--config", config, "--adapter", "rag=/x"]) == 2
    assert "not an adapter variant; adapter variants: fine-tuned" in capsys.readouterr().err


def test_adapter_without_effect_stops_the_run(tiny_eval_project, tiny_adapters):
    from harness.cli.eval_cmd import with_adapters
    from harness.eval.adapters import AdapterHasNoEffect

    config = with_adapters(load_eval_config(tiny_eval_project / "harness.yaml"), [f"fine-tuned={tiny_adapters['noop']}"])
    with pytest.raises(AdapterHasNoEffect):
        run_eval(config, options(tiny_eval_project, variants=["fine-tuned"]))


def test_a_variant_spec_hashes_as_before_the_split_by_kind(tmp_path):
    """``spec_sha256`` of each kind equals the hash of the single spec class earlier versions wrote (same config, same hash)."""
    import json

    from harness.config.eval_config import AdapterVariant, PromptVariant, RagVariant
    from harness.fileio import sha256_text

    def earlier(**given):  # the fields and defaults of the one VariantSpec class before the split
        spec = {"name": None, "kind": None, "system": None, "few_shot": [], "corpus": None, "corpus_kind": "examples",
                "k": 4, "template": None, "adapter": None, **given}
        return sha256_text(json.dumps(spec, sort_keys=True))

    specs = [(PromptVariant(name="p", system="be brief", few_shot=(("hi", "hello"),)),
              earlier(name="p", kind="prompt", system="be brief", few_shot=[["hi", "hello"]])),
             (RagVariant(name="r", corpus="/c.jsonl", k=2), earlier(name="r", kind="rag", corpus="/c.jsonl", k=2)),
             (AdapterVariant(name="a", adapter="current:t"), earlier(name="a", kind="adapter", adapter="current:t"))]
    for spec, expected in specs:
        assert sha256_text(json.dumps(spec.identity(), sort_keys=True)) == expected
