"""Bad input and faults, tried as a new user would: exit 2 with one ``path: code: message`` line,
never a traceback, never a hang.

Classes covered here: paths that never deliver data (FIFO, device), the wrong kind of path
(a folder for a file and the reverse), inputs built to exhaust recursion, huge numbers, text
no tokenizer can encode, damaged SQLite generation cache, damaged adapter config and weights,
an adapter that does not fit its base, damaged model weights and a damaged converted-model
cache, an unreadable GGUF, and the CLI's last-resort guard. The OpenAI-compatible backend's
faults are in ``test_openai_backend.py``; split atomicity in ``test_split.py``; cache identity
in ``test_cache.py``; the fuzz test of the reader and lint in ``test_fuzz.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import InputError
from harness.eval.adapters import check_adapter_folder
from harness.eval.cache import GenerationCache
from tests.helpers import cli, one_line_error
from tests.tiny import write_triage_file


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_triage_file(tmp_path / "data.jsonl", 12)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("argv", [
    ["lint", "{fifo}", "--model", "none"],
    ["lint", "{data}", "--heldout", "{fifo}", "--model", "none"],
    ["lint", "{data}", "--schema", "{fifo}", "--model", "none"],
    ["lint", "/dev/zero", "--model", "none"],
    ["split", "{fifo}", "--eval-split", "0.2", "--out", "{tmp}/out"],
    ["eval", "--config", "{fifo}"],
    ["train", "{fifo}"],
    ["ask", "{fifo}", "--model", "{tmp}"],
])
def test_a_path_that_never_delivers_data_is_refused_not_read(argv, fifo, data, tmp_path, capsys):
    args = [a.format(fifo=fifo, data=data, tmp=tmp_path) for a in argv]
    assert cli(*args) == 2
    one_line_error(capsys, "not-a-file", "block")


def test_a_config_pointing_at_a_fifo_is_refused(fifo, tmp_path, capsys):
    config = tmp_path / "harness.yaml"
    config.write_text(f"task: t\ncases: {fifo.name}\nvariants:\n  base: {{kind: prompt}}\n")
    assert cli("eval", "--config", config) == 2
    one_line_error(capsys, f"{fifo}: not-a-file")


def test_reader_refuses_a_fifo_itself(fifo):
    from harness.data import parse_jsonl

    with pytest.raises(InputError, match="pipe"):
        parse_jsonl(fifo)


@pytest.mark.parametrize("argv, code", [
    (["lint", "{tmp}", "--model", "none"], "not-a-file"),
    (["lint", "{data}", "--heldout", "{tmp}", "--model", "none"], "not-a-file"),
    (["lint", "{data}", "--schema", "{tmp}", "--model", "none"], "not-a-file"),
    (["split", "{tmp}", "--eval-split", "0.2", "--out", "{tmp}/out"], "not-a-file"),
    (["split", "{data}", "--eval-split", "0.2", "--out", "{data}"], "not-a-folder"),
    (["split", "{data}", "--eval-split", "0.2", "--out", "{data}/sub"], "not-a-folder"),
    (["eval", "--config", "{tmp}"], "not-a-file"),
    (["train", "{tmp}"], "not-a-file"),
    (["gate", "{data}", "--config", "{data}"], "not-an-adapter"),
    (["ask", "{tmp}"], "not-a-file"),
    (["ask", "{data}", "--model", "{tmp}", "--adapter", "{data}"], "model-unavailable"),
    (["ask", "{data}", "--limit", "0"], "bad-option"),
    (["train", "{data}", "--output-dir", "{data}"], "not-a-folder"),
    (["train", "{data}", "--gate-config", "{tmp}"], "not-a-file"),
    (["train", "{data}", "--gate"], "file-not-found"),
])
def test_the_wrong_kind_of_path_is_one_line_exit_2(argv, code, data, tmp_path, capsys):
    assert cli(*[a.format(data=data, tmp=tmp_path) for a in argv]) == 2
    one_line_error(capsys, code)


@pytest.mark.parametrize("line", [
    "[" * 100_000 + "]" * 100_000,
    '{"messages": ' + "[" * 5_000 + "]" * 5_000 + "}",
    '{"messages": [{"role": "user", "content": ' + "{\"a\": " * 3_000 + "1" + "}" * 3_000 + "}]}",
    '{"messages": ' + "9" * 5_000 + "}",
])
def test_inputs_built_to_exhaust_recursion_or_conversion_are_findings(line, tmp_path, capsys):
    path = tmp_path / "deep.jsonl"
    path.write_text(line + "\n")
    assert cli("lint", path, "--model", "none") == 1
    out = capsys.readouterr()
    assert f"{path}:1: invalid-json: " in out.out and "Traceback" not in out.err
    assert cli("split", path, "--eval-split", "0.2", "--out", tmp_path / "out") == 2
    one_line_error(capsys, f"{path}:1: invalid-json")


def test_text_no_tokenizer_can_encode_is_a_finding(tmp_path, capsys):
    path = tmp_path / "surrogate.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi \\ud800"}, {"role": "assistant", "content": "ok"}]}\n')
    assert cli("lint", path) == 1  # with the real tokenizer: the line never reaches it
    out = capsys.readouterr()
    assert f"{path}:1: bad-content: " in out.out and "surrogate" in out.out and "Traceback" not in out.err
    assert cli("ask", path) == 2
    one_line_error(capsys, "surrogate")


@pytest.mark.slow
def test_local_backend_fails_only_the_request_with_a_lone_surrogate(tiny_checkpoint):
    from harness.eval.backends.local import LocalBackend
    from harness.records import Decoding, GenerationRequest

    local = LocalBackend(str(tiny_checkpoint), device="cpu")
    requests = [GenerationRequest(f"c{i}", "v", ({"role": "user", "content": text},)) for i, text in
                enumerate(["fine", "bad \ud800", "also fine"])]
    good, bad, also = local.generate(requests, Decoding(max_new_tokens=2))
    assert good.error is None and also.error is None
    assert bad.error is not None and "surrogate" in bad.error


@pytest.mark.parametrize("damage", ["garbage", "folder", "truncated"])
def test_damaged_generation_cache_names_the_file_to_delete(tmp_path, damage):
    path = tmp_path / "generations.sqlite"
    if damage == "folder":
        path.mkdir()
    elif damage == "garbage":
        path.write_bytes(b"this is not a database" * 100)
    else:
        cache = GenerationCache(path)
        cache.close()
        path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError) as caught:
        cache = GenerationCache(path)
        cache.get_many(["k"])
    assert caught.value.code == "damaged-cache" and caught.value.path == str(path) and "delete" in caught.value.message


def _copy_adapter(tiny_adapters: dict[str, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_adapters["a"], tmp_path / "adapter"))


@pytest.mark.parametrize("config, code", [
    ('{"peft_type": "LORA", "r": ', "damaged-adapter"),
    ("[1, 2]", "damaged-adapter"),
    ("\xff\xfe", "damaged-adapter"),
    ("{lora_alpha}", "damaged-adapter"),
])
@pytest.mark.slow
def test_damaged_adapter_config_is_refused_before_loading(config, code, tiny_adapters, tmp_path):
    adapter = _copy_adapter(tiny_adapters, tmp_path)
    (adapter / "adapter_config.json").write_bytes(config.encode("latin-1"))
    with pytest.raises(InputError) as caught:
        check_adapter_folder(adapter)
    assert caught.value.code == code and caught.value.path == str(adapter / "adapter_config.json")


@pytest.mark.parametrize("key, value", [("r", "x"), ("r", 0), ("lora_alpha", None), ("target_modules", 3)])
@pytest.mark.slow
def test_adapter_config_values_peft_would_choke_on(key, value, tiny_adapters, tmp_path):
    adapter = _copy_adapter(tiny_adapters, tmp_path)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, key: value}))
    with pytest.raises(InputError, match=key):
        check_adapter_folder(adapter)


@pytest.mark.parametrize("keep", [0, 7, 100, -10])
@pytest.mark.slow
def test_damaged_adapter_weights_are_refused_before_loading(keep, tiny_adapters, tmp_path):
    adapter = _copy_adapter(tiny_adapters, tmp_path)
    weights = adapter / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:keep])
    with pytest.raises(InputError) as caught:
        check_adapter_folder(adapter)
    assert caught.value.code == "damaged-weights" and caught.value.path == str(weights)


@pytest.mark.slow
def test_damaged_adapter_through_the_cli(tiny_checkpoint, tiny_adapters, tmp_path, data, capsys):
    adapter = _copy_adapter(tiny_adapters, tmp_path)
    weights = adapter / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert cli("ask", data, "--model", tiny_checkpoint, "--adapter", adapter, "--limit", "1") == 2
    one_line_error(capsys, f"{weights}: damaged-weights")


@pytest.mark.slow
def test_adapter_that_does_not_fit_the_base_model(tiny_checkpoint, tiny_adapters, tmp_path, data, capsys):
    adapter = _copy_adapter(tiny_adapters, tmp_path)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "target_modules": ["no_such_proj"]}))
    assert cli("ask", data, "--model", tiny_checkpoint, "--adapter", adapter, "--limit", "1") == 2
    one_line_error(capsys, "bad-adapter", "no_such_proj")


@pytest.mark.slow
def test_damaged_checkpoint_weights(tiny_checkpoint, tmp_path, data, capsys):
    broken = Path(shutil.copytree(tiny_checkpoint, tmp_path / "broken"))
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:500])
    assert cli("ask", data, "--model", broken, "--limit", "1") == 2
    one_line_error(capsys, "damaged-model", str(broken))


@pytest.mark.parametrize("damaged", ["model.safetensors", "tokenizer.json"])
@pytest.mark.slow
def test_damaged_converted_model_cache_says_which_folder_to_delete(damaged, tmp_path, data, capsys, monkeypatch):
    from harness.models import resolve_model

    real = Path(resolve_model("smollm2-135m-instruct").location)
    cache = tmp_path / "cache"
    copy = cache / "models" / real.name
    copy.mkdir(parents=True)
    for item in real.iterdir():
        (copy / item.name).symlink_to(item)
    (copy / damaged).unlink()
    (copy / damaged).write_bytes((real / damaged).read_bytes()[:300])
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(cache))
    assert cli("ask", data, "--limit", "1") == 2
    one_line_error(capsys, "damaged-model", f"delete {copy}")
    if damaged == "tokenizer.json":  # lint reads the tokenizer its own (fast) way
        assert cli("lint", data) == 2
        one_line_error(capsys, "damaged-model", "delete this folder")


def test_unreadable_gguf(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    junk = tmp_path / "model.gguf"
    junk.write_bytes(b"not a gguf" * 10)
    assert cli("models", "prepare", junk) == 2
    one_line_error(capsys, f"{junk}: bad-gguf")
    assert not list((tmp_path / "cache" / "models").iterdir())  # nothing half-converted left


def test_last_resort_guard_is_one_line_and_v_shows_the_traceback(monkeypatch, capsys, data):
    from harness.cli import lint_cmd

    def broken(args):
        raise TypeError("a bug")

    monkeypatch.setattr(lint_cmd, "register", _register_with(broken))
    assert main(["lint", str(data)]) == 2
    line = one_line_error(capsys, "internal-error", "TypeError: a bug", "-v")
    assert line.startswith("harness lint: ")


def _register_with(handler):
    def register(subparsers):
        parser = subparsers.add_parser("lint")
        parser.add_argument("data")
        parser.set_defaults(handler=handler)
    return register


def test_verbose_shows_the_traceback_of_an_unexpected_error(monkeypatch, capsys, caplog, data):
    from harness.cli import lint_cmd

    def broken(args):
        raise TypeError("a bug")

    monkeypatch.setattr(lint_cmd, "register", _register_with(broken))
    with caplog.at_level("INFO", logger="harness.cli.main"):
        assert main(["-v", "lint", str(data)]) == 2
    assert any(record.exc_info and record.exc_info[0] is TypeError for record in caplog.records)


def test_deeply_nested_schema_and_outputs_are_findings_or_one_line(tmp_path, capsys):
    from tests.conftest import chat

    schema = tmp_path / "schema.json"
    schema.write_text("[" * 100_000 + "]" * 100_000)
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(chat("hi", "[" * 100_000 + "]" * 100_000)) + "\n")
    assert cli("lint", data, "--schema", schema, "--model", "none") == 2
    one_line_error(capsys, f"{schema}: bad-schema")
    schema.write_text('{"type": "object"}')
    assert cli("lint", data, "--schema", schema, "--model", "none") == 1
    out = capsys.readouterr()
    assert f"{data}:1: output-not-json: " in out.out and "Traceback" not in out.err


@pytest.mark.slow
def test_sigterm_unwinds_and_leaves_no_temporary_folder(tmp_path):
    import signal
    import subprocess
    import sys

    script = (
        "import importlib, sys, time\n"
        "cli_main = importlib.import_module('harness.cli.main')\n"
        "from harness.fileio import atomic_directory\n"
        "def slow(args):\n"
        "    with atomic_directory(sys.argv[1] + '/final') as tmp:\n"
        "        (tmp / 'half').write_text('x')\n"
        "        print('ready', flush=True)\n"
        "        time.sleep(60)\n"
        "cli_main.lint_cmd.register = lambda sub: sub.add_parser('lint').set_defaults(handler=slow)\n"
        "sys.exit(cli_main.main(['lint']))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM and "terminated" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_killed_conversion_leaves_no_lasting_temporary_folder(tmp_path, monkeypatch, capsys):
    from harness.fileio import held_folder, sha256_file
    from harness.models.convert import converted_dir

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    junk = tmp_path / "model.gguf"
    junk.write_bytes(b"not a gguf" * 10)
    target = converted_dir(sha256_file(junk))
    stale = target.parent / f".{target.name}.killed.partial"
    stale.mkdir(parents=True)  # a conversion killed a moment ago: no process holds it, whatever its age
    with held_folder(target.parent, f".{target.name}.") as running:  # a conversion under way in this process
        assert cli("models", "prepare", junk) == 2
        one_line_error(capsys, "bad-gguf")
        assert not stale.exists() and running.exists()


@pytest.mark.parametrize("options, match", [({"batch_size": "x"}, "batch_size"), ({"batch_size": 0}, "batch_size"),
                                            ({"device": "tpu"}, "device")])
@pytest.mark.slow
def test_bad_local_backend_settings_are_config_errors(options, match, tiny_checkpoint):
    from harness.errors import ConfigError
    from harness.eval.backends.local import LocalBackend

    with pytest.raises(ConfigError, match=match):
        LocalBackend(str(tiny_checkpoint), **options)


@pytest.mark.slow
def test_cuda_asked_for_on_a_machine_without_it(tiny_checkpoint):
    import torch

    from harness.errors import ModelNotAvailableError
    from harness.models import load_model

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelNotAvailableError, match="no usable CUDA"):
        load_model(str(tiny_checkpoint), device="cuda")
