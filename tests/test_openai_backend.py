"""The OpenAI-compatible backend against a scripted local stub, and once against ``transformers serve``."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.eval.backends.openai_compat import OpenAICompatibleBackend
from harness.records import Decoding, Generation, GenerationRequest
from tests.stub_openai_server import (
    COMPLETION_TOKENS,
    PROMPT_TOKENS,
    Call,
    Reply,
    completion,
    fail_times,
    hang,
    malformed,
    ok,
    stub_server,
)

KEY = "sk-test-do-not-leak-4242"


def request(text: str, index: int = 0, sample: int = 0) -> GenerationRequest:
    return GenerationRequest(f"case-{index}", "base", ({"role": "system", "content": "Reply with JSON."},
                                                       {"role": "user", "content": text}), sample=sample)


def backend(base_url: str, **kwargs: object) -> OpenAICompatibleBackend:
    made = OpenAICompatibleBackend(base_url=base_url, model="stub-model", **kwargs)  # type: ignore[arg-type]
    made.retry_base_s = 0.01  # fast backoff for tests; Retry-After is still honoured as given
    return made


def generate(url: str, texts: list[str], **kwargs: object) -> list[Generation]:
    return backend(url, **kwargs).generate([request(t, i) for i, t in enumerate(texts)], Decoding(max_new_tokens=8))


def test_success_records_text_usage_and_latency() -> None:
    with stub_server(ok(0.05)) as (url, stats):
        [generation] = generate(url, ["printer on fire"])
    assert generation.error is None
    assert generation.text == "echo: printer on fire"
    assert (generation.prompt_tokens, generation.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert generation.latency_s is not None and generation.latency_s >= 0.05
    assert (generation.case_id, generation.variant, generation.sample) == ("case-0", "base", 0)
    assert stats.requests == 1


def test_request_carries_decoding_and_seed_per_sample() -> None:
    seen: list[dict] = []

    def record(call: Call) -> Reply:
        seen.append(call.payload)
        return Reply()

    with stub_server(record) as (url, _):
        backend(url).generate([request("hi", sample=2)], Decoding(max_new_tokens=7, temperature=0.5, top_p=0.9, seed=10))
    [payload] = seen
    assert payload["model"] == "stub-model"
    assert (payload["max_tokens"], payload["temperature"], payload["top_p"], payload["seed"]) == (7, 0.5, 0.9, 12)
    assert [m["role"] for m in payload["messages"]] == ["system", "user"]


def test_missing_usage_is_none() -> None:
    with stub_server(lambda call: Reply(body={"choices": [{"message": {"content": "x"}}]})) as (url, _):
        [generation] = generate(url, ["a"])
    assert generation.text == "x" and generation.prompt_tokens is None and generation.completion_tokens is None


def test_order_is_preserved_under_uneven_latency() -> None:
    texts = [f"message {i}" for i in range(12)]
    with stub_server(lambda call: Reply(delay_s=0.01 * (12 - int(call.user_text.split()[1])))) as (url, _):
        generations = generate(url, texts, concurrency=12)
    assert [g.text for g in generations] == [f"echo: {t}" for t in texts]
    assert [g.case_id for g in generations] == [f"case-{i}" for i in range(12)]


@pytest.mark.slow
def test_429_retry_after_is_honoured() -> None:
    with stub_server(fail_times(1, status=429, retry_after=1)) as (url, stats):
        started = time.perf_counter()
        [generation] = generate(url, ["a"])
        elapsed = time.perf_counter() - started
    assert generation.error is None and generation.text == "echo: a"
    assert stats.requests == 2
    assert elapsed >= 1.0


def test_500_then_success_is_retried() -> None:
    with stub_server(fail_times(2, status=500)) as (url, stats):
        [generation] = generate(url, ["a"])
    assert generation.text == "echo: a" and generation.error is None
    assert stats.requests == 3


def test_always_500_fails_only_that_request() -> None:
    def behaviour(call: Call) -> Reply:
        return Reply(500, {"error": {"message": "boom"}}) if call.user_text == "bad" else Reply()

    with stub_server(behaviour) as (url, stats):
        generations = generate(url, ["good 1", "bad", "good 2"], max_retries=2)
    assert [g.text for g in generations] == ["echo: good 1", None, "echo: good 2"]
    error = generations[1].error
    assert error is not None and "500" in error and "3 attempts" in error and "\n" not in error
    assert generations[1].latency_s is None
    assert stats.requests == 2 + 3


def test_other_4xx_is_not_retried() -> None:
    with stub_server(fail_times(99, status=400)) as (url, stats):
        [generation] = generate(url, ["a"])
    assert generation.text is None and generation.error is not None and "400" in generation.error
    assert stats.requests == 1


def test_timeout_is_an_error_after_retries() -> None:
    with stub_server(hang(5)) as (url, stats):
        started = time.perf_counter()
        [generation] = generate(url, ["a"], timeout_s=0.2, max_retries=1)
        elapsed = time.perf_counter() - started
    assert generation.text is None
    assert generation.error is not None and "timeout" in generation.error and "2 attempts" in generation.error
    assert stats.requests == 2
    assert elapsed < 3


def test_connection_refused_is_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [generation] = generate(f"http://127.0.0.1:{port}/v1", ["a"], max_retries=1)
    assert generation.text is None and generation.error is not None and "connection" in generation.error


@pytest.mark.parametrize("body", [{}, {"choices": []}, {"choices": [{"message": {"role": "assistant"}}]}])
def test_malformed_body_is_an_error(body: dict) -> None:
    with stub_server(malformed(body)) as (url, stats):
        [generation] = generate(url, ["a"])
    assert generation.text is None
    assert generation.error is not None and "malformed" in generation.error
    assert stats.requests == 1


def test_long_retry_after_fails_fast_instead_of_hanging() -> None:
    with stub_server(fail_times(99, status=429, retry_after=3600)) as (url, stats):
        started = time.perf_counter()
        [generation] = generate(url, ["a"], timeout_s=5, max_retries=1)
        elapsed = time.perf_counter() - started
    assert elapsed < 3
    assert generation.text is None and generation.error is not None
    assert "429" in generation.error and "3600" in generation.error
    assert stats.requests == 1


def test_request_deadline_bounds_retries_and_waits() -> None:
    class ShortDeadline(OpenAICompatibleBackend):
        deadline_s = 0.5  # type: ignore[assignment]  # shorter than one 2 s attempt: the deadline must cut in

    with stub_server(hang(10)) as (url, _):
        made = ShortDeadline(base_url=url, model="m", timeout_s=2, max_retries=3)
        started = time.perf_counter()
        [generation] = made.generate([request("a")], Decoding(max_new_tokens=4))
        elapsed = time.perf_counter() - started
    assert elapsed < 2
    assert generation.text is None and generation.error is not None and "deadline" in generation.error


def test_default_deadline_covers_every_attempt_and_wait() -> None:
    made = backend("http://127.0.0.1:1/v1", timeout_s=5, max_retries=1)
    assert made.deadline_s == 5 * 2 + made.retry_cap_s


@pytest.mark.parametrize("raw", [b"<html>502 Bad Gateway</html>", b'{"choices": [', b""])
def test_non_json_body_is_an_error(raw: bytes) -> None:
    with stub_server(lambda call: Reply(raw=raw)) as (url, _):
        [generation] = generate(url, ["a"], max_retries=0)
    assert generation.text is None and generation.error is not None


def test_echoed_key_is_redacted_from_text_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TEST_KEY", KEY)

    def echo_in_text(call: Call) -> Reply:
        if call.user_text == "fail":
            return Reply(400, {"error": {"message": f"key {call.headers['authorization']} refused"}})
        return Reply(body=completion(f"your key is {call.headers['authorization']}"))

    with stub_server(echo_in_text) as (url, _):
        made = backend(url, api_key_env="HARNESS_TEST_KEY")
        ok_gen, failed = made.generate([request("hi", 0), request("fail", 1)], Decoding())
    assert ok_gen.text == "your key is Bearer ***"
    assert failed.error is not None and KEY not in failed.error and "***" in failed.error


def test_concurrency_is_bounded_and_real() -> None:
    with stub_server(ok(0.05)) as (url, stats):
        generations = generate(url, [f"m{i}" for i in range(20)], concurrency=4)
    assert all(g.error is None for g in generations)
    assert 1 < stats.max_in_flight <= 4


def test_api_key_reaches_server_but_never_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TEST_KEY", KEY)

    def echo_auth(call: Call) -> Reply:  # a server that echoes the credential in its error
        return Reply(401, {"error": {"message": f"bad credential {call.headers.get('authorization')}"}})

    with stub_server(echo_auth) as (url, stats):
        made = backend(url, api_key_env="HARNESS_TEST_KEY")
        [generation] = made.generate([request("a")], Decoding())
    assert stats.authorization == [f"Bearer {KEY}"]
    assert generation.error is not None and "401" in generation.error
    for text in (repr(made), str(made.identity()), generation.error, repr(vars(made))):
        assert KEY not in text


def test_unset_key_sends_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_UNSET_KEY", raising=False)
    with stub_server() as (url, stats):
        generate(url, ["a"], api_key_env="HARNESS_UNSET_KEY")
    assert stats.authorization == ["Bearer EMPTY"]


def test_identity_and_adapters() -> None:
    made = backend("http://127.0.0.1:1/v1")
    assert made.kind == "openai"
    assert made.identity() == {"base_url": "http://127.0.0.1:1/v1", "model": "stub-model"}
    assert made.adapter_identity(None) is None
    with pytest.raises(ConfigError, match="'lora-a' is not registered"):  # add_adapter registers (tests/test_lora_engine.py)
        made.adapter_identity("lora-a")


@pytest.mark.parametrize("setting, value", [("concurrency", 0), ("concurrency", 2.5), ("timeout_s", "abc"),
                                            ("timeout_s", 0), ("max_retries", -1), ("base_url", "not a url"),
                                            ("base_url", 42), ("model", ""), ("api_key_env", None)])
def test_bad_settings_are_config_errors(setting: str, value: object) -> None:
    options: dict = {"base_url": "http://x/v1", "model": "m", setting: value}
    with pytest.raises(ConfigError, match=setting):
        OpenAICompatibleBackend(**options)


def test_works_from_a_thread_and_inside_a_running_loop() -> None:
    with stub_server() as (url, _):
        made = backend(url)
        results: list[list[Generation]] = []
        worker = threading.Thread(target=lambda: results.append(made.generate([request("t")], Decoding())))
        worker.start()
        worker.join(timeout=10)

        async def inside_loop() -> list[Generation]:
            return made.generate([request("l")], Decoding())

        from_loop = asyncio.run(inside_loop())
    assert results[0][0].text == "echo: t" and from_loop[0].text == "echo: l"


def test_close_stops_the_private_loop_and_generate_reopens_it() -> None:
    before = set(threading.enumerate())  # loops of backends other tests left to the garbage collector may end any time

    def loops() -> int:
        return sum(t.name == "openai-backend" and t not in before for t in threading.enumerate())

    with stub_server() as (url, stats):
        with backend(url) as made:
            made.generate([request("a")], Decoding())
            assert loops() == 1
        assert loops() == 0
        assert made.generate([request("b")], Decoding())[0].text == "echo: b"
        made.close()
    assert stats.requests == 2


# --- a real server ---------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(process: subprocess.Popen, port: int, log: Path, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"transformers serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"transformers serve not ready after {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def transformers_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``transformers serve`` on the embedded model's converted checkpoint; yields ``(base_url, model)``."""
    from harness.models import resolve_model

    checkpoint = resolve_model("smollm2-135m-instruct").location
    port, log = _free_port(), tmp_path / "serve.log"
    command = [str(Path(sys.executable).with_name("transformers")), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--device", "cpu", checkpoint]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_ready(process, port, log)
        yield f"http://127.0.0.1:{port}/v1", checkpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_real_transformers_serve(transformers_server: tuple[str, str]) -> None:
    url, model = transformers_server
    made = OpenAICompatibleBackend(base_url=url, model=model, concurrency=2, timeout_s=120, max_retries=1)
    tickets = ["The export button crashes the app every time.", "How do I change my email address?",
               "I was charged twice this month."]
    generations = made.generate([request(t, i) for i, t in enumerate(tickets)], Decoding(max_new_tokens=16))
    assert [g.error for g in generations] == [None, None, None]
    assert all(g.text for g in generations)
    assert all(g.completion_tokens and g.prompt_tokens for g in generations)


def _openai_config(tmp_path: Path, url: str, **backend_options: object):
    """A one-variant eval config for the stub, on 3 tiny triage cases."""
    from harness.config.eval_config import load_eval_config
    from tests.tiny import write_triage_file

    write_triage_file(tmp_path / "cases.jsonl", 3)
    options = ", ".join(f"{k}: {v}" for k, v in {"base_url": url, "max_retries": 0, "timeout_s": 2, **backend_options}.items())
    (tmp_path / "harness.yaml").write_text(f"task: t\nmodel: openai:stub\nbackend: {{kind: openai, {options}}}\n"
                                           "cases: cases.jsonl\nvariants:\n  base: {kind: prompt}\n")
    return load_eval_config(tmp_path / "harness.yaml")


@pytest.mark.parametrize("behaviour", [fail_times(99, status=500), fail_times(99, status=400), hang(5),
                                       malformed({"choices": []}), lambda call: Reply(raw=b"<html>")],
                         ids=["5xx", "4xx", "timeout", "no-choices", "non-json"])
def test_run_where_every_request_failed_ends_with_a_run_and_summary(tmp_path: Path, behaviour, capsys) -> None:
    from harness.cli.main import main

    with stub_server(behaviour) as (url, _):
        _openai_config(tmp_path, url, timeout_s=0.3)
        code = main(["eval", "--config", str(tmp_path / "harness.yaml"), "--no-cache", "--runs-dir", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err  # findings: the run is unusable for that variant
    [run] = list((tmp_path / "runs").iterdir())
    lines = (run / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all('"error": null' not in line for line in lines)
    assert "base     3       3" in out  # n 3, errors 3
    assert "every generation of variant 'base' failed" in err


def test_run_where_the_server_is_refused_ends_with_a_run(tmp_path: Path) -> None:
    from harness.eval.runner import EvalOptions, run_eval
    from harness.scorers.summary import variant_summary

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _openai_config(tmp_path, f"http://127.0.0.1:{port}/v1")
    run = run_eval(config, EvalOptions(cache_mode="off", runs_dir=tmp_path / "runs", progress=False))
    table = variant_summary(run.results)
    assert table.loc["base", "n"] == 3 and table.loc["base", "errors"] == 3


def test_echoed_key_never_reaches_results_or_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.eval.runner import EvalOptions, run_eval

    monkeypatch.setenv("HARNESS_TEST_KEY", KEY)
    with stub_server(lambda call: Reply(body=completion(f"key={call.headers['authorization']}"))) as (url, _):
        config = _openai_config(tmp_path, url, api_key_env="HARNESS_TEST_KEY")
        options = EvalOptions(cache_path=tmp_path / "cache.sqlite", runs_dir=tmp_path / "runs", progress=False)
        run = run_eval(config, options)
    assert all(r.generation.text == "key=Bearer ***" for r in run.results)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("cache.sqlite") for p in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path


def test_the_defaults_declared_in_the_config_schema_are_the_ones_the_backend_uses(tmp_path: Path) -> None:
    import dataclasses

    from harness.config.eval_config import LocalOptions, OpenAIOptions, load_eval_config
    from harness.eval.backends import make_backend

    (tmp_path / "harness.yaml").write_text("task: t\nmodel: openai:served\nbackend: {kind: openai, base_url: 'http://x/v1'}\n"
                                           "cases: cases.jsonl\nvariants:\n  base: {kind: prompt}\n")
    config = load_eval_config(tmp_path / "harness.yaml")
    declared = {f.name: f.default for f in dataclasses.fields(OpenAIOptions)}
    assert config.backend.options == OpenAIOptions(base_url="http://x/v1")
    made = make_backend(config)
    assert isinstance(made, OpenAICompatibleBackend) and made.model == "served"
    assert (made.concurrency, made.max_retries, made.timeout_s) == (declared["concurrency"], declared["max_retries"],
                                                                    declared["timeout_s"])
    retries = declared["max_retries"]
    assert made.deadline_s == declared["timeout_s"] * (retries + 1) + made.retry_cap_s * retries
    (tmp_path / "harness.yaml").write_text("task: t\nmodel: openai:served\nbackend: {kind: local}\n"
                                           "cases: cases.jsonl\nvariants:\n  base: {kind: prompt}\n")
    local = load_eval_config(tmp_path / "harness.yaml").backend.options
    assert local == LocalOptions()
    assert (local.batch_size, local.device, local.dtype) == tuple(f.default for f in dataclasses.fields(LocalOptions))


def test_backend_options_given_in_the_config_reach_the_backend(tmp_path: Path) -> None:
    from harness.config.eval_config import load_eval_config
    from harness.eval.backends import make_backend

    (tmp_path / "harness.yaml").write_text(
        "task: t\nmodel: openai:served\nbackend: {kind: openai, base_url: 'http://x/v1', model: other, concurrency: 3,\n"
        "  timeout_s: 1e1, max_retries: 0, api_key_env: NO_SUCH_KEY_VAR}\n"
        "cases: cases.jsonl\nvariants:\n  base: {kind: prompt}\n")
    made = make_backend(load_eval_config(tmp_path / "harness.yaml"))
    assert isinstance(made, OpenAICompatibleBackend)
    assert (made.model, made.concurrency, made.timeout_s, made.max_retries) == ("other", 3, 10.0, 0)
