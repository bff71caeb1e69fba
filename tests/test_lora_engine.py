"""Candidate adapters on a serving engine: load, evaluate under its own name, unload (against the engine stub)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config.eval_config import load_eval_config
from harness.errors import ConfigError
from harness.eval.backends.local import LocalBackend
from harness.eval.backends.openai_compat import OpenAICompatibleBackend
from harness.eval.cache import cache_key
from harness.eval.runner import EvalOptions, run_eval
from harness.fileio import sha256_file, sha256_text
from harness.records import Decoding, GenerationRequest
from tests.lora_engine_stub import lora_engine
from tests.tiny import write_triage_file

pytestmark = pytest.mark.slow

DECODING = Decoding(max_new_tokens=6)
TEXTS = ["printer on fire", "refund my invoice", "the export crashed"]


def requests(adapter: str | None) -> list[GenerationRequest]:
    return [GenerationRequest(f"c{i}", adapter or "base", ({"role": "user", "content": t},), adapter=adapter)
            for i, t in enumerate(TEXTS)]


def texts(backend, adapter: str | None) -> list[str | None]:
    generations = backend.generate(requests(adapter), DECODING)
    assert all(g.error is None for g in generations), [g.error for g in generations]
    return [g.text for g in generations]


def test_candidate_is_loaded_answered_under_its_own_name_and_unloaded(tiny_checkpoint, tiny_adapters):
    local = LocalBackend(str(tiny_checkpoint), batch_size=1, device="cpu")
    local.add_adapter("cand", tiny_adapters["a"])
    with lora_engine(tiny_checkpoint) as engine:
        backend = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name, concurrency=2)
        backend.add_adapter("cand", tiny_adapters["a"], lazy=True)
        assert engine.events == []  # lazy: nothing sent before the first request that needs it
        base, cand = texts(backend, None), texts(backend, "cand")
        served = backend.adapter_identity("cand")["served_as"]
        assert engine.events.count(("load_lora_adapter", served)) == 1 and served in engine.served
        assert engine.events.count(("chat/completions", served)) == len(TEXTS)
        texts(backend, "cand")  # a second batch reuses the loaded adapter
        assert engine.events.count(("load_lora_adapter", served)) == 1
        backend.close()
        assert engine.events[-1] == ("unload_lora_adapter", served) and engine.served == {}
    assert cand == texts(local, "cand") and base == texts(local, None)  # the engine really ran the adapter's bytes
    assert cand != base


def test_the_adapter_hash_is_in_the_identity_and_the_cache_key(tiny_checkpoint, tiny_adapters):
    with lora_engine(tiny_checkpoint) as engine:
        one, two = (OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name) for _ in range(2))
        one.add_adapter("cand", tiny_adapters["a"])  # eager: loaded now
        two.add_adapter("cand", tiny_adapters["b"])  # same name, other bytes
        ids = one.adapter_identity("cand"), two.adapter_identity("cand")
        assert ids[0]["sha256"] == sha256_file(Path(tiny_adapters["a"]) / "adapter_model.safetensors")
        assert ids[0]["served_as"] != ids[1]["served_as"] and len(engine.served) == 2
        [request] = requests("cand")[:1]
        keys = {cache_key(b.identity(), b.adapter_identity("cand"), request, DECODING) for b in (one, two)}
        assert len(keys) == 2
        assert texts(one, "cand") != texts(two, "cand")
        for backend in (one, two):
            backend.close()
        assert engine.served == {}


def test_the_same_weights_with_another_config_are_another_adapter(tiny_checkpoint, tiny_adapters, tmp_path):
    """lora_alpha scales every output: the same weights under another adapter_config.json get their own served
    name and cache key, never the first one's cached outputs."""
    import shutil

    scaled = tmp_path / "scaled"
    shutil.copytree(tiny_adapters["a"], scaled)
    config = json.loads((scaled / "adapter_config.json").read_text())
    config["lora_alpha"] *= 4
    (scaled / "adapter_config.json").write_text(json.dumps(config))
    with lora_engine(tiny_checkpoint) as engine:
        one, two = (OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name) for _ in range(2))
        one.add_adapter("cand", tiny_adapters["a"])
        two.add_adapter("cand", scaled)
        ids = one.adapter_identity("cand"), two.adapter_identity("cand")
        assert ids[0]["sha256"] == ids[1]["sha256"] and ids[0]["config_sha256"] != ids[1]["config_sha256"]
        assert ids[0]["served_as"] != ids[1]["served_as"]
        [request] = requests("cand")[:1]
        assert len({cache_key(b.identity(), b.adapter_identity("cand"), request, DECODING) for b in (one, two)}) == 2
        for backend in (one, two):
            backend.close()


def test_an_adapter_left_loaded_by_an_interrupted_run_is_reused(tiny_checkpoint, tiny_adapters):
    with lora_engine(tiny_checkpoint) as engine:
        first = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name)
        first.add_adapter("cand", tiny_adapters["a"])  # never closed: still loaded on the engine
        second = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name)
        second.add_adapter("cand", tiny_adapters["a"])  # the engine answers 400 "already loaded": same name, same bytes
        assert texts(second, "cand") == texts(first, "cand")


def test_an_engine_without_dynamic_lora_says_how_to_serve_the_adapter(tiny_checkpoint, tiny_adapters):
    with lora_engine(tiny_checkpoint, lora=False) as engine:
        backend = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name)
        backend.add_adapter("cand", tiny_adapters["a"], lazy=True)
        with pytest.raises(ConfigError) as raised:
            backend.generate(requests("cand"), DECODING)
    message = str(raised.value)
    assert "HTTP 404" in message and "load_lora_adapter" in message
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True" in message and "--enable-lora" in message
    served = backend.adapter_identity("cand")["served_as"]
    assert f"--lora-modules {served}={Path(tiny_adapters['a']).resolve()}" in message
    assert f"model: openai:{served}" in message


CONFIG = """\
task: triage
model: openai:tiny-base
backend: {{kind: openai, base_url: "{url}", concurrency: 2}}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 4}}
variants:
  prompt-only: {{kind: prompt, system: "Reply with JSON."}}
  fine-tuned: {{kind: adapter, adapter: {adapter}}}
"""


def test_an_eval_run_attaches_the_candidate_to_the_engine(tmp_path, tiny_checkpoint, tiny_adapters):
    write_triage_file(tmp_path / "heldout.jsonl", 4, offset=700)
    with lora_engine(tiny_checkpoint) as engine:
        (tmp_path / "harness.yaml").write_text(CONFIG.format(url=engine.base_url, adapter=tiny_adapters["a"]))
        run = run_eval(load_eval_config(tmp_path / "harness.yaml"),
                       EvalOptions(runs_dir=tmp_path / "runs", cache_path=tmp_path / "cache.sqlite", progress=False))
        loads = [name for route, name in engine.events if route == "load_lora_adapter"]
    assert all(r.generation.error is None for r in run.results) and len(run.results) == 8
    manifest = json.loads((run.path / "manifest.json").read_text())
    adapter = manifest["variants"]["fine-tuned"]["adapter"]
    assert adapter["sha256"] == sha256_file(Path(tiny_adapters["a"]) / "adapter_model.safetensors")
    assert loads == [adapter["served_as"]]


# ------------------------------------------------------------------------------------------------------------------------
# The real engine: vLLM's CPU build serving the embedded model (tests/vllm_server.py, the vllm_engine fixture).

engine = pytest.mark.engine
SMOL = "smollm2-135m-instruct"
LOSS_TOLERANCE = 1e-3
"""Largest difference allowed between the engine's and the local backend's mean token loss of one text (fp32 both;
measured: about 1e-4 on the built-in general text)."""


def smol_adapter(folder: Path, *, r: int, seed: int, scale: float = 0.1) -> Path:
    """A LoRA adapter for the embedded model with random lora_B (``scale``), r and alpha = 2r on q_proj and v_proj."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from harness.models import resolve_model

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(resolve_model(SMOL).location),
                           LoraConfig(r=r, lora_alpha=2 * r, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def smol_adapters(tmp_path_factory) -> dict[str, Path]:
    """Adapters for the embedded model: ``a`` and ``b`` (r=4, other bytes), ``r32`` (above the engine's --max-lora-rank)."""
    folder = tmp_path_factory.mktemp("smol-adapters")
    return {"a": smol_adapter(folder / "a", r=4, seed=1), "b": smol_adapter(folder / "b", r=4, seed=2),
            "r32": smol_adapter(folder / "r32", r=32, seed=3)}


def served_models(base_url: str) -> set[str]:
    import urllib.request

    with urllib.request.urlopen(f"{base_url}/models", timeout=10) as response:
        return {m["id"] for m in json.loads(response.read())["data"]}


ENGINE_CONFIG = """\
task: triage
model: openai:smollm2-135m-instruct
backend: {{kind: openai, base_url: "{url}", concurrency: 4, timeout_s: 300, max_retries: {retries}}}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: {tokens}}}
variants:
  prompt-only: {{kind: prompt, system: "Reply with JSON."}}
  fine-tuned: {{kind: adapter, adapter: {adapter}}}
"""


@engine
def test_an_eval_run_on_the_engine_loads_the_candidate_records_the_engine_and_unloads(tmp_path, vllm_engine, smol_adapters):
    from harness.manifests import read_run_manifest

    url = vllm_engine.base_url
    write_triage_file(tmp_path / "heldout.jsonl", 4, offset=900)
    (tmp_path / "harness.yaml").write_text(ENGINE_CONFIG.format(url=url, adapter=smol_adapters["a"], retries=1, tokens=8))
    options = EvalOptions(runs_dir=tmp_path / "runs", cache_path=tmp_path / "cache.sqlite", progress=False)
    run = run_eval(load_eval_config(tmp_path / "harness.yaml"), options)  # makes the backend, closes it at the end
    assert [r.generation.error for r in run.results] == [None] * 8
    manifest = read_run_manifest(run.path)
    served = manifest.variants["fine-tuned"].adapter["served_as"]
    assert manifest.variants["fine-tuned"].adapter_sha256 == sha256_file(smol_adapters["a"] / "adapter_model.safetensors")
    adapter = manifest.variants["fine-tuned"].adapter or {}
    assert adapter["config_sha256"] == sha256_file(smol_adapters["a"] / "adapter_config.json")
    assert served == f"fine-tuned-{sha256_text(adapter['sha256'] + adapter['config_sha256'])[:12]}"
    engine_info = manifest.backend.engine
    assert engine_info is not None and engine_info.version == "0.32.0" and engine_info.max_model_len == 2048
    assert engine_info.model == SMOL and engine_info.weights_sha256 == sha256_file(Path(engine_info.root) / "model.safetensors")
    assert served not in served_models(url)  # unloaded when the run ended


@engine
def test_other_adapter_bytes_under_the_same_name_get_their_own_cache_key_and_served_name(vllm_engine, smol_adapters):
    url = vllm_engine.base_url
    one, two = (OpenAICompatibleBackend(base_url=url, model=SMOL, timeout_s=300) for _ in range(2))
    one.add_adapter("cand", smol_adapters["a"])
    two.add_adapter("cand", smol_adapters["b"])  # same name, other bytes: loaded beside the first
    try:
        ids = one.adapter_identity("cand"), two.adapter_identity("cand")
        assert ids[0]["served_as"] != ids[1]["served_as"] and {i["served_as"] for i in ids} <= served_models(url)
        [request] = requests("cand")[:1]
        assert len({cache_key(b.identity(), b.adapter_identity("cand"), request, DECODING) for b in (one, two)}) == 2
    finally:
        one.close()
        two.close()
    assert not {i["served_as"] for i in ids} & served_models(url)


@engine
def test_the_engine_answers_like_peft_for_the_base_model_and_the_adapter(vllm_engine, smol_adapters):
    from harness.models import resolve_model

    remote = OpenAICompatibleBackend(base_url=vllm_engine.base_url, model=SMOL, timeout_s=300)
    local = LocalBackend(resolve_model(SMOL).location, batch_size=1, device="cpu")
    for backend in (remote, local):
        backend.add_adapter("cand", smol_adapters["a"], lazy=True)
    try:
        engine_texts = texts(remote, None), texts(remote, "cand")
    finally:
        remote.close()
    local_texts = texts(local, None), texts(local, "cand")
    assert engine_texts == local_texts  # greedy, fp32 on both sides: the served adapter is peft's adapter
    assert engine_texts[0] != engine_texts[1]  # and it changes the answers


@engine
def test_an_adapter_above_max_lora_rank_is_one_line_naming_the_flag(vllm_engine, smol_adapters):
    from harness.eval.backends.lora_endpoint import EngineError

    backend = OpenAICompatibleBackend(base_url=vllm_engine.base_url, model=SMOL, timeout_s=300)
    with pytest.raises(EngineError) as raised:
        backend.add_adapter("wide", smol_adapters["r32"])
    message = str(raised.value)
    assert "\n" not in message and "LoRA rank 32" in message and "--max-lora-rank 16" in message
    assert "--max-lora-rank 32" in message  # what to do
    assert texts(backend, None)  # the engine is still serving


@engine
def test_engine_token_losses_agree_with_the_local_backend(vllm_engine, smol_adapters):
    from harness.config.file import builtin_path
    from harness.gate.probes import forgetting_texts
    from harness.models import resolve_model

    sample = forgetting_texts(builtin_path("builtin:general-text"))[:6]
    remote = OpenAICompatibleBackend(base_url=vllm_engine.base_url, model=SMOL, timeout_s=300)
    local = LocalBackend(resolve_model(SMOL).location, device="cpu")
    for backend in (remote, local):
        backend.add_adapter("cand", smol_adapters["a"], lazy=True)
    try:
        engine_losses = remote.token_losses(sample, None), remote.token_losses(sample, "cand")
    finally:
        remote.close()
    # batch_size=1: the local backend's batched losses shift with the left padding (positions), by up to ~0.1 here
    local_losses = local.token_losses(sample, None, batch_size=1), local.token_losses(sample, "cand", batch_size=1)
    for engine_side, local_side in zip(engine_losses, local_losses, strict=True):
        assert all(1.0 < loss < 6.0 for loss in engine_side)
        assert max(abs(e - lo) for e, lo in zip(engine_side, local_side, strict=True)) < LOSS_TOLERANCE
    assert engine_losses[0] != engine_losses[1]  # the adapter's weights reach the prompt logprobs


GATE_CASES = 24
"""Held-out cases of the engine gate tests: the first 24 of the triage split (``min_cases: 20`` in their config: a
2-core CPU engine decodes a few dozen tokens per second)."""

GATE_CONFIG = """\
task: triage
model: openai:smollm2-135m-instruct
backend: {{kind: openai, base_url: "{url}", concurrency: 8, timeout_s: 300, max_retries: {retries}}}
cases: ./heldout.jsonl
decoding: {{max_new_tokens: 32, stop_at_json_end: true}}
variants:
  prompt-only:
    kind: prompt
    system: >-
      You are a support triage bot. Reply with only a JSON object: {{"category": one of billing, account, bug,
      how_to, feature_request, security, other; "priority": one of low, medium, high; "needs_human": true or false}}.
  fine-tuned: {{kind: adapter, adapter: current:triage}}
scoring:
  schema: {schema}
  fields: [category, priority, needs_human]
gate:
  candidate: fine-tuned
  baselines: [prompt-only]
  primary: field_macro_f1
  min_cases: 20
  forgetting: {{text: ./general-text.jsonl, tolerance: 0.10}}
  parity: {{floor: 0.8}}
"""


@pytest.fixture(scope="session")
def engine_gate_dir(tmp_path_factory) -> Path:
    """A triage project: 96 training examples, 24 held-out cases, 8 general texts, a candidate from `harness train`."""
    from harness.config.file import builtin_path
    from tests.vllm_server import train_triage_candidate

    folder = tmp_path_factory.mktemp("engine-gate")
    candidate = train_triage_candidate(folder, examples=96, heldout=GATE_CASES)
    (folder / "general-text.jsonl").write_text("".join(Path(builtin_path("builtin:general-text")).read_text()
                                                       .splitlines(True)[:8]))
    (folder / "candidate").symlink_to(candidate)
    return folder


@pytest.fixture(scope="session")
def engine_cache(tmp_path_factory) -> Path:
    """The engine gate tests' harness cache folder (``HARNESS_CACHE_DIR``): the user's converted models (a link), a
    generation cache of their own. The gate test fills it; `harness decide` and `pytest suites/` then read the same
    outputs of the same engine, config and candidate from it instead of generating them again."""
    from harness.models.cache import cache_dir

    folder = tmp_path_factory.mktemp("harness-cache")
    (folder / "models").symlink_to(cache_dir() / "models", target_is_directory=True)
    return folder


def write_gate_config(folder: Path, url: str, *, retries: int = 1) -> Path:
    path = folder / f"harness-{retries}.yaml"
    from tests.vllm_server import TRIAGE

    path.write_text(GATE_CONFIG.format(url=url, retries=retries, schema=TRIAGE / "schema.json"))
    return path


def checks_by_name(decision) -> dict[str, object]:
    return {check.name.split(" (")[0]: check for check in decision.checks}


@engine
def test_a_gate_entirely_on_the_engine_decides_with_forgetting_and_parity(tmp_path, vllm_engine, engine_gate_dir,
                                                                          engine_cache, monkeypatch):
    from harness.gate.run import gate_decision
    from harness.manifests import read_run_manifest

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(engine_cache))
    config = write_gate_config(engine_gate_dir, vllm_engine.base_url)
    options = EvalOptions(runs_dir=tmp_path / "runs", progress=False)
    decision = gate_decision(engine_gate_dir / "candidate", config, options)
    checks = checks_by_name(decision)
    assert decision.verdict in ("accepted", "rejected"), [c.explanation for c in decision.checks]
    forgetting = checks["forgetting"]
    assert forgetting.verdict in ("pass", "fail") and forgetting.n == 8, forgetting.explanation
    parity = checks["serving parity"]
    assert parity.verdict == "pass" and parity.n == GATE_CASES, parity.explanation  # fp32 engine and peft agree
    assert parity.observed["identical_share"] >= 0.8 and parity.interval is not None
    engine_info = read_run_manifest(Path(decision.run)).backend.engine
    assert engine_info is not None and engine_info.version == "0.32.0"
    served = read_run_manifest(Path(decision.run)).variants["fine-tuned"].adapter["served_as"]
    assert served not in served_models(vllm_engine.base_url)  # the gate unloaded its candidate


@engine
def test_parity_rejects_a_candidate_the_engine_serves_with_another_scaling(tmp_path, vllm_engine, engine_gate_dir):
    """The engine already serves the candidate's name from a folder whose adapter_config.json says lora_alpha x4
    (a foreign or stale load on a shared engine; the harness itself names another config otherwise): the engine
    answers otherwise than peft, and the parity check says so."""
    import dataclasses
    import shutil

    from harness.eval.backends.lora_endpoint import LoraEndpoint
    from harness.gate.run import gate_decision

    url = vllm_engine.base_url
    scaled = tmp_path / "scaled"
    shutil.copytree(engine_gate_dir / "candidate", scaled)
    adapter_config = json.loads((scaled / "adapter_config.json").read_text())
    adapter_config["lora_alpha"] *= 4
    (scaled / "adapter_config.json").write_text(json.dumps(adapter_config))

    class Key:
        def reveal(self) -> str:
            return "EMPTY"

    stale = LoraEndpoint(url, Key(), timeout_s=300)
    candidate = stale.register("fine-tuned", engine_gate_dir / "candidate")
    assert stale.register("fine-tuned", scaled).served_name != candidate.served_name  # the config is in the name
    stale.adapters["fine-tuned"] = dataclasses.replace(candidate, path=str(scaled.resolve()))
    stale.served_names(["fine-tuned"])  # the engine now serves the x4 scaling under the candidate's name
    try:
        config = write_gate_config(engine_gate_dir, url)
        options = EvalOptions(runs_dir=tmp_path / "runs", cache_mode="off", progress=False)
        decision = gate_decision(engine_gate_dir / "candidate", config, options)
    finally:
        stale.unload_all()
    parity = checks_by_name(decision)["serving parity"]
    assert parity.verdict == "fail" and decision.verdict == "rejected", parity.explanation
    assert parity.observed["identical_share"] < 0.8 and "most different: " in parity.explanation
    worst = parity.observed["differing_cases"][0]["case"]
    assert worst in parity.explanation


SUITE = """\
import pytest

pytestmark = pytest.mark.harness_suite("triage", version="1")


def test_enough_paired_cases_and_no_generation_errors(harness_gate):
    harness_gate.require("data")


def test_no_forgetting_on_general_text(harness_gate):
    harness_gate.require("forgetting")


def test_the_engine_answers_as_peft_does(harness_gate):
    harness_gate.require("serving parity")
"""


@engine
def test_harness_decide_and_pytest_suites_on_the_engine(tmp_path, vllm_engine, engine_gate_dir, engine_cache,
                                                        monkeypatch, capsys):
    """The ladder (`harness decide`) and the deploy gate as a pytest suite (`pytest suites/`), both on the engine with
    the trained candidate: forgetting decided from the engine's losses, the engine in the run manifest, the candidate
    unloaded afterwards. Their outputs come from the generation cache the gate test filled (same engine, config,
    candidate: the same keys), so each costs little more than its token losses and the parity reference."""
    import dataclasses
    import gc
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    from harness.cli.main import main
    from harness.manifests import read_run_manifest

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(engine_cache))
    monkeypatch.setenv("HARNESS_HISTORY", "off")
    url, candidate = vllm_engine.base_url, engine_gate_dir / "candidate"
    config = write_gate_config(engine_gate_dir, url)

    code = main(["decide", "--config", str(config), "--candidate", str(candidate), "--root", str(tmp_path / "registry"),
                 "--runs-dir", str(tmp_path / "decide-runs"), "--format", "json"])
    gc.collect()  # the ladder's backend: its finalizer unloads the candidate
    out = json.loads(capsys.readouterr().out)
    ladder = out["decision"]
    assert ladder["verdict"] in ("deploy", "none"), ladder["reasons"]  # decided: never inconclusive on a healthy engine
    assert code == (0 if ladder["verdict"] == "deploy" else 1)
    assert Path(out["decision_file"]).is_file()
    rung = next(r for r in ladder["rungs"] if r["variant"] == "fine-tuned")
    forgetting = next(c for c in rung["checks"] if c["name"].startswith("forgetting"))
    assert forgetting["verdict"] in ("pass", "fail") and forgetting["n"] == 8, forgetting["explanation"]
    manifest = read_run_manifest(Path(ladder["run"]))
    assert manifest.backend.engine is not None and manifest.backend.engine.version == "0.32.0"
    assert ladder["engine"] == dataclasses.asdict(manifest.backend.engine)  # the decision names its engine too
    served = manifest.variants["fine-tuned"].adapter["served_as"]
    assert served not in served_models(url)

    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_triage_engine_gate.py").write_text(SUITE)
    xml = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider",
                           "--harness-config", str(config), "--candidate", str(candidate),
                           "--harness-runs-dir", str(tmp_path / "suite-runs"), f"--junitxml={xml}"],
                          cwd=suite, capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    failed = {case.get("name") for case in ET.parse(xml).iter("testcase") if case.find("failure") is not None
              or case.find("error") is not None or case.find("skipped") is not None}
    [run] = [r for r in (tmp_path / "suite-runs").iterdir() if (r / "decision.json").is_file()]  # beside: peft's run
    decision = json.loads((run / "decision.json").read_text())
    checks = {c["name"].split(" (")[0]: c for c in decision["checks"]}
    assert checks["forgetting"]["verdict"] in ("pass", "fail"), checks["forgetting"]["explanation"]
    assert checks["serving parity"]["verdict"] == "pass" and checks["serving parity"]["n"] == GATE_CASES
    expected_failed = {"test_no_forgetting_on_general_text"} if checks["forgetting"]["verdict"] == "fail" else set()
    assert failed == expected_failed, proc.stdout[-3000:]
    assert proc.returncode == (1 if expected_failed else 0)
    assert decision["engine"]["version"] == "0.32.0"
    assert read_run_manifest(run).variants["fine-tuned"].adapter["served_as"] == served  # same candidate, same name
    assert served not in served_models(url)  # the suite's session unloaded it at exit


@engine
def test_an_engine_without_runtime_lora_updating_says_how_to_serve_the_adapter(tmp_path, vllm_engine, smol_adapters):
    """A second real server, started without VLLM_ALLOW_RUNTIME_LORA_UPDATING (no /v1/load_lora_adapter: HTTP 404), and
    with the adapter as the error tells one to serve it (``--lora-modules NAME=PATH``): the how-to error, then the
    advice followed (``model: openai:NAME``) answers as the session server's runtime-loaded adapter does."""
    import time

    from harness.models import resolve_model
    from tests.vllm_server import VllmServer

    session = OpenAICompatibleBackend(base_url=vllm_engine.base_url, model=SMOL, timeout_s=300)
    session.add_adapter("cand", smol_adapters["a"])
    try:
        served, loaded = session.adapter_identity("cand")["served_as"], texts(session, "cand")
    finally:
        session.close()
    started = time.perf_counter()
    with VllmServer.start(resolve_model(SMOL).location, tmp_path / "vllm-static.log", runtime_lora=False,
                          extra=["--lora-modules", f"{served}={smol_adapters['a'].resolve()}"]) as server:
        startup_s = time.perf_counter() - started
        backend = OpenAICompatibleBackend(base_url=server.base_url, model=SMOL, timeout_s=300)
        backend.add_adapter("cand", smol_adapters["a"], lazy=True)
        with pytest.raises(ConfigError) as raised:
            backend.generate(requests("cand"), DECODING)
        as_advised = OpenAICompatibleBackend(base_url=server.base_url, model=served, timeout_s=300)
        advised = texts(as_advised, None)
    message = str(raised.value)
    assert "HTTP 404" in message and "load_lora_adapter" in message, message
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True" in message and "--enable-lora" in message
    assert f"--lora-modules {served}={smol_adapters['a'].resolve()}" in message and f"model: openai:{served}" in message
    assert advised == loaded  # the advice works: the statically served adapter answers as the runtime-loaded one
    print(f"second vLLM server (no runtime LoRA updating) healthy after {startup_s:.1f} s")


@engine
def test_the_server_killed_mid_gate_gives_per_case_errors_and_an_inconclusive_decision(tmp_path, vllm_engine,
                                                                                    engine_gate_dir, capsys):
    """Last of the engine tests: it kills the session's server (a later test would start a new one)."""
    import threading
    import time

    from harness.cli.main import main

    if vllm_engine.external_url:
        pytest.skip("HARNESS_VLLM_URL: a server started by hand is not killed by the tests")
    server = vllm_engine.get()
    config = write_gate_config(engine_gate_dir, server.base_url, retries=0)

    def answered() -> int:
        return server.tail(10**8).count('"POST /v1/chat/completions HTTP/1.1" 200')

    before = answered()

    def kill_after_some_answers() -> None:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and answered() < before + 6:
            time.sleep(0.2)
        server.kill()

    killer = threading.Thread(target=kill_after_some_answers, daemon=True)
    killer.start()
    code = main(["gate", str(engine_gate_dir / "candidate"), "--config", str(config), "--no-cache",
                 "--runs-dir", str(tmp_path / "runs")])
    killer.join(timeout=60)
    out, err = capsys.readouterr()
    assert server.process.poll() is not None  # it was killed during the run
    assert code == 1 and "Traceback" not in err, err[-2000:]
    decision = json.loads((engine_gate_dir / "candidate" / "decision.json").read_text())
    assert decision["verdict"] == "inconclusive"
    data = next(c for c in decision["checks"] if c["name"] == "data")
    assert data["verdict"] == "inconclusive" and "generation errors" in data["explanation"]
    [run] = list((tmp_path / "runs").iterdir())
    results = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(results) == 2 * GATE_CASES
    errors = [r for r in results if r["generation"]["error"]]
    assert 0 < len(errors) < len(results) and all("connection" in r["generation"]["error"].lower() or "HTTP" in
                                                   r["generation"]["error"] for r in errors)
    assert not (engine_gate_dir / "registry.json").exists()
