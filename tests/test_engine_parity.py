"""Serving parity, token losses read from vLLM's prompt_logprobs and the engine in the manifest: the pure parts, no server.

The same code against the real vLLM server: tests/test_lora_engine.py (marked ``engine``).
"""

from __future__ import annotations

import json

import pytest

from harness.config.gate import GateRules, GateSection, ParitySection
from harness.errors import HarnessError
from harness.eval.backends.openai_compat import mean_prompt_loss
from harness.gate.parity import parity_check
from harness.manifests import BackendInfo, EngineInfo, RunManifest, read_run_manifest
from harness.records import Case, CaseResult, Generation, Score

RULES = GateRules.resolve(GateSection(primary="exact", parity=ParitySection(floor=0.8), n_resamples=200, min_cases=5),
                          candidate="fine-tuned", baselines=("prompt-only",), fields=())


def results(texts: list[str], *, error_at: int | None = None) -> list[CaseResult]:
    return [CaseResult(Case(f"c{i}", "t", ({"role": "user", "content": "q"},), "yes"),
                       Generation(f"c{i}", "fine-tuned", 0, text, error="boom" if i == error_at else None),
                       [Score("exact", float(text == "yes"))]) for i, text in enumerate(texts)]


def test_identical_outputs_pass_with_the_paired_metric_difference():
    check = parity_check(results(["yes"] * 9 + ["no"]), results(["yes"] * 9 + ["no"]), RULES)
    assert check.verdict == "pass" and check.observed["identical_share"] == 1.0 and check.n == 10
    assert check.delta == 0.0 and check.interval == (0.0, 0.0) and "10/10 identical" in check.explanation


def test_below_the_floor_rejects_naming_the_most_different_cases_first():
    reference = results(["yes"] * 10)
    served = results(["yes"] * 7 + ["yes!", "yeah", "zzz"])
    check = parity_check(reference, served, RULES)
    assert check.verdict == "fail" and check.observed["identical_share"] == 0.7
    assert [d["case"] for d in check.observed["differing_cases"]] == ["c9", "c8", "c7"]  # least similar first
    assert check.explanation.index("c9") < check.explanation.index("c8") < check.explanation.index("c7")
    assert check.delta == pytest.approx(-0.3) and check.interval is not None and check.interval[0] < 0


def test_errors_or_other_cases_are_inconclusive_never_a_pass():
    assert parity_check(results(["yes"] * 5), results(["yes"] * 5, error_at=2), RULES).verdict == "inconclusive"
    assert parity_check(results(["yes"] * 5), results(["yes"] * 4), RULES).verdict == "inconclusive"


def test_prompt_logprobs_give_the_mean_loss_of_every_token_after_the_first():
    # the shape vLLM answers: None for the first token, then {token_id: {logprob, rank, decoded_token}}
    logprobs = [None, {"905": {"logprob": -2.0, "rank": 3}, "11": {"logprob": -0.1, "rank": 1}},
                {"28": {"logprob": -1.0, "rank": 2}}]
    assert mean_prompt_loss([19556, 905, 28], logprobs, "engine") == pytest.approx(1.5)
    assert mean_prompt_loss([7], [None], "engine") == 0.0
    with pytest.raises(HarnessError, match="prompt_logprobs"):
        mean_prompt_loss([1, 2, 3], [None, {"2": {"logprob": -1.0}}], "engine")  # one position missing
    with pytest.raises(HarnessError, match="no logprob for prompt token 3"):
        mean_prompt_loss([1, 2, 3], [None, {"2": {"logprob": -1.0}}, {"4": {"logprob": -1.0}}], "engine")


def test_the_engine_is_recorded_in_the_run_manifest_and_older_manifests_still_read(tmp_path):
    engine = EngineInfo(version="0.32.0", model="smollm2-135m-instruct", root="/m", max_model_len=2048,
                        weights_sha256="ab" * 32)
    manifest = RunManifest(run_id="r1", created_at="2026-12-04T00:00:00+00:00", task="t",
                           backend=BackendInfo("openai", {"base_url": "http://127.0.0.1:1/v1"}, engine))
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "manifest.json").write_text(json.dumps(manifest.to_dict()))
    assert read_run_manifest(tmp_path / "new").backend.engine == engine
    old = manifest.to_dict()
    old["backend"] = {"kind": "local", "model": {"path": "/m"}}  # written before the field existed
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(old))
    assert read_run_manifest(tmp_path / "old").backend.engine is None
    assert "engine" not in BackendInfo("local", {"path": "/m"}).to_dict()  # local runs' manifests are unchanged


@pytest.mark.slow  # two subprocesses, no model
def test_run_all_skips_the_engine_benchmark_with_its_reason_where_no_vllm_can_start(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_VLLM_URL"} | {"VLLM_VENV": str(tmp_path / "none")}
    proc = subprocess.run([sys.executable, str(root / "bench" / "run_all.py"), "engine"], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    [row] = [line for line in proc.stdout.splitlines() if line.startswith("| engine |")]
    assert proc.returncode == 0 and f"skipped: no vLLM virtualenv at {tmp_path / 'none'}" in row, proc.stdout + proc.stderr
    assert "| - | >= 0.95 |" in row  # no ratio, the target it would be held to
