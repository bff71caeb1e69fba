"""The local backend's dtype: chosen in the config, part of the cache key, refused when unknown."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.errors import ConfigError
from harness.eval.backends.local import LocalBackend
from harness.eval.cache import cache_key
from harness.records import Decoding, GenerationRequest


def test_the_dtype_is_part_of_the_identity_and_so_of_every_cache_key(tiny_checkpoint):
    request = GenerationRequest(case_id="a", variant="p", messages=({"role": "user", "content": "hi"},))
    decoding = Decoding(max_new_tokens=4)
    fp32 = LocalBackend(str(tiny_checkpoint), device="cpu")
    bf16 = LocalBackend(str(tiny_checkpoint), device="cpu", dtype="bfloat16")
    assert fp32.identity()["dtype"] == "float32" and bf16.identity()["dtype"] == "bfloat16"
    assert cache_key(fp32.identity(), None, request, decoding) != cache_key(bf16.identity(), None, request, decoding)
    assert not fp32.is_loaded  # known before any load: a fully cached run still keys on it


@pytest.mark.slow
def test_the_model_runs_in_the_dtype_asked_for(tiny_checkpoint):
    import torch

    backend = LocalBackend(str(tiny_checkpoint), device="cpu", dtype="bfloat16")
    assert backend.model.dtype == torch.bfloat16


def test_an_unknown_dtype_is_a_config_error(tiny_checkpoint, tmp_path):
    with pytest.raises(ConfigError, match="dtype must be auto or one of"):
        LocalBackend(str(tiny_checkpoint), dtype="float8")
    config = tmp_path / "harness.yaml"
    config.write_text(f"task: t\nmodel: {tiny_checkpoint}\ncases: ./c.jsonl\nbackend: {{kind: local, dtype: fp64}}\n"
                      "variants: {p: {kind: prompt}}\n")
    (tmp_path / "c.jsonl").write_text('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n')
    done = subprocess.run([sys.executable, "-m", "harness", "eval", "--config", str(config)],
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "dtype" in done.stderr and "Traceback" not in done.stderr
