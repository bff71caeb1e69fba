"""Local generation with transformers + peft: one base model, any number of adapters.

The base model is loaded once, on the first request that misses the cache (a fully
cached rerun never loads it). Adapters are attached to it by name (peft ``load_adapter``)
and switched per batch (``set_adapter`` / ``disable_adapter``), never one model load per
variant. Each prompt is tokenized once; requests are grouped by adapter, sorted by token
length, left-padded and generated under ``torch.inference_mode()``; CUDA when present, CPU
otherwise. With ``decoding.stop_at_json_end`` a sequence stops once its output holds a
complete JSON value (``harness.eval.jsonstop.JsonEndCriteria``) and the text is trimmed there.

Shared prefixes are computed once: the token prefix common to every prompt of a group (a
system prompt, a rubric, worked examples) runs through the model once per (adapter, sample,
variant) group, and each batch starts from a copy of its key/value cache. The batch then holds
``prefix + padding + suffix`` rows, with the padding masked and positions counted from the
attention mask, so each row sees exactly the tokens and positions it would see alone.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.config.eval_config import LocalOptions
from harness.errors import ConfigError, InputError
from harness.eval.adapters import AdapterHasNoEffect, adapter_changes_logits, adapter_identity, check_adapter_folder
from harness.eval.backends.packed import WeightPacks, packed_linears
from harness.eval.jsonstop import JsonEndCriteria, trim_after_json
from harness.models import LoadedModel, ensure_pad_token, load_model, resolve_model
from harness.models.chat import render
from harness.models.load import DTYPE_NAMES, resolved_device, resolved_dtype_name
from harness.models.losses import mean_token_losses
from harness.records import Decoding, Generation, GenerationRequest

_DEVICES = ("cpu", "cuda", "mps")
MIN_SHARED_PREFIX = 16
"""Fewest common prompt tokens worth a separate prefix pass (shorter ones are generated as before)."""


class LocalBackend:
    """Generate with a model in this process.

    Args:
        model: a ``base_model`` reference or an already loaded model.
        batch_size: prompts per ``generate`` call.
        device: ``cuda``/``cpu``; default picks CUDA when available.
        static_cache: decode into a preallocated key/value cache (transformers ``StaticCache``, the
            shared prefix copied in) instead of a growing one: greedy outputs unchanged, speed
            measured by ``bench/decode_levers.py --backend`` (README, "Floor").
        packed_weights: on a float32 CPU model, decode steps multiply by MKL-prepacked weights
            (:mod:`harness.eval.backends.packed`): the same products bit for bit (each pack checked
            when it is built, a layer whose pack differs keeps ``F.linear``), faster; ``False`` for
            the plain ``F.linear`` path.
    """

    kind = "local"

    def __init__(self, model: str | LoadedModel, *, batch_size: int = LocalOptions.batch_size,
                 device: str | None = LocalOptions.device, static_cache: bool = False,
                 packed_weights: bool = True, dtype: str = LocalOptions.dtype) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"local backend: batch_size must be a positive integer, got {batch_size!r}")
        if device is not None and (not isinstance(device, str) or device.split(":")[0] not in _DEVICES):
            raise ConfigError(f"local backend: device must be one of {', '.join(_DEVICES)} (e.g. cuda:1), got {device!r}")
        if dtype != "auto" and dtype not in DTYPE_NAMES:
            raise ConfigError(f"local backend: dtype must be auto or one of {', '.join(DTYPE_NAMES)}, got {dtype!r}")
        self.ref = resolve_model(model) if isinstance(model, str) else model.ref
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.static_cache = static_cache
        self.packed_weights = packed_weights
        self._packs = WeightPacks()
        self.adapters: dict[str, dict[str, Any]] = {}
        self._attached: set[str] = set()
        self._loaded = model if isinstance(model, LoadedModel) else None
        self._model: Any = None

    @classmethod
    def from_options(cls, model: str, options: LocalOptions) -> LocalBackend:
        """The backend a config's ``backend: {kind: local, ...}`` asks for: its checked options, defaults included."""
        return cls(model, batch_size=options.batch_size, device=options.device, dtype=options.dtype)

    @property
    def is_loaded(self) -> bool:
        """Whether the model has been loaded (a fully cached run never loads it)."""
        return self._loaded is not None

    @property
    def tokenizer(self) -> Any:
        """The tokenizer (left padding, pad distinct from EOS); loads the model on first use."""
        return self._ensure_loaded().tokenizer

    @property
    def model(self) -> Any:
        """The model, with every registered adapter attached; loads on first use."""
        self._ensure_loaded()
        for name in self.adapters:
            if name not in self._attached:
                self._attach(name)
        return self._model

    def _ensure_loaded(self) -> LoadedModel:
        if self._loaded is None:
            import torch

            self._loaded = load_model(self.ref, device=self.device, dtype=getattr(torch, self.compute_dtype))
        if self._model is None:
            ensure_pad_token(self._loaded.tokenizer)
            self._loaded.tokenizer.padding_side = "left"
            self._model = self._loaded.model.eval()
        return self._loaded

    @property
    def compute_dtype(self) -> str:
        """The dtype the model runs in (``float32``, ``bfloat16``...), known before it is loaded."""
        return resolved_dtype_name(self.dtype, resolved_device(self.device))

    def identity(self) -> dict[str, Any]:
        """The base model's identity (spec, kind, weights hash) and the dtype it computes in.

        The dtype is part of every cache key: a CUDA machine's bfloat16 outputs are never
        served to a CPU run in float32 from a shared cache.
        """
        return {"spec": self.ref.spec, "kind": self.ref.kind, **self.ref.identity, "dtype": self.compute_dtype}

    def adapter_identity(self, name: str | None) -> dict[str, Any] | None:
        """Path and hashes (weights and config) of a registered adapter."""
        return None if name is None else self.adapters[name]

    def add_adapter(self, name: str, folder: str | Path, *, lazy: bool = False) -> None:
        """Register the adapter in ``folder`` under ``name``; attach it and prove it changes the logits.

        With ``lazy`` the attach and the check wait for the first request that needs the
        model (a fully cached run never pays for them).

        Raises:
            InputError: not an adapter folder with safetensors weights.
            AdapterHasNoEffect: its logits equal the base model's on a probe.
        """
        folder = Path(folder)
        check_adapter_folder(folder)
        entry = adapter_identity(folder)
        if self.adapters.get(name) == entry:
            return
        if name in self._attached:  # the name now means another adapter: drop the old weights
            self._model.delete_adapter(name)
            self._attached.discard(name)
        self.adapters[name] = entry
        if not lazy:
            self._ensure_loaded()
            self._attach(name)

    def _attach(self, name: str) -> None:
        from peft import PeftModel

        folder = self.adapters[name]["path"]
        try:
            if not isinstance(self._model, PeftModel):
                self._model = PeftModel.from_pretrained(self._model, folder, adapter_name=name, is_trainable=False).eval()
            else:
                self._model.load_adapter(folder, adapter_name=name, is_trainable=False)
        except Exception as exc:  # peft's errors for a config or weights that do not fit this base model
            raise InputError(f"the adapter cannot be attached to {self.ref.spec}: {type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:300]}; was it trained for this base model?",
                             path=folder, code="bad-adapter") from exc
        self._attached.add(name)
        self._model.set_adapter(name)
        if not adapter_changes_logits(self._model):
            raise AdapterHasNoEffect(f"the adapter in {folder} does not change the model's outputs; was it trained?",
                                     path=folder)

    def render(self, request: GenerationRequest) -> str:
        """The prompt text of a request (the model's chat template with the generation header)."""
        return render(self.tokenizer, request.messages, add_generation_prompt=True)

    def generate(self, requests: Sequence[GenerationRequest], decoding: Decoding) -> list[Generation]:
        """Generations for ``requests`` in order; a failing batch marks its requests' errors.

        Each prompt is tokenized once; requests are grouped by (adapter, sample, variant) and
        batched by token length (longest first), so a batch pads little; the prefix a group's
        prompts share (a variant's system prompt and examples) is computed once per group. Outputs do not depend on
        the batching (left padding with an attention mask; greedy is deterministic).
        """
        prompts = [self.render(r) for r in requests]
        results: list[Generation | None] = [None] * len(requests)
        groups: dict[tuple[str | None, int, str], list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            if _encodable(prompts[index]):
                groups[(request.adapter, request.sample, request.variant)].append(index)
            else:  # a lone surrogate: no tokenizer can encode it; this request fails, the batch goes on
                results[index] = Generation(request.case_id, request.variant, request.sample,
                                            error="the prompt holds a lone surrogate (not text); fix the case's escapes")
        encodable = [i for indices in groups.values() for i in indices]
        ids = dict(zip(encodable, self._token_ids([prompts[i] for i in encodable]), strict=True))
        for (adapter, sample, _), indices in groups.items():
            indices.sort(key=lambda i: len(ids[i]), reverse=True)
            prefix = _PrefixCache(shared_prefix([ids[i] for i in indices]) if len(indices) > 1 else [])
            for start in range(0, len(indices), self.batch_size):
                batch = indices[start : start + self.batch_size]
                generations = self._batch(requests, [ids[i] for i in batch], batch, adapter, sample, decoding, prefix)
                for index, generation in zip(batch, generations, strict=True):
                    results[index] = generation
        return [g for g in results if g is not None]

    def _token_ids(self, prompts: list[str]) -> list[list[int]]:
        """Token ids of each prompt (no special tokens added: the chat template has them)."""
        return list(self.tokenizer(prompts, add_special_tokens=False)["input_ids"]) if prompts else []

    def _batch(self, requests: Sequence[GenerationRequest], ids: list[list[int]], batch: list[int], adapter: str | None,
               sample: int, decoding: Decoding, prefix: _PrefixCache) -> list[Generation]:
        import torch

        model = self.model  # attaches pending adapters: a no-effect adapter raises here, not per batch
        started = time.perf_counter()
        try:
            packed = packed_linears(model, len(batch), self._packs) if self.packed_weights else contextlib.nullcontext()
            with self._active(model, adapter), torch.inference_mode(), packed:
                encoded = self._encode(model, ids, prefix)
                if self.static_cache:
                    encoded = _with_static_cache(model, encoded, decoding.max_new_tokens)
                if decoding.temperature > 0:
                    torch.manual_seed(decoding.seed + sample)
                output = model.generate(**encoded, **self._decoding_kwargs(decoding, encoded["input_ids"].shape[1]))
        except (RuntimeError, ValueError) as exc:  # e.g. out of memory: this batch fails, the run goes on
            return [Generation(requests[i].case_id, requests[i].variant, sample, error=f"{type(exc).__name__}: {exc}")
                    for i in batch]
        share = (time.perf_counter() - started) / len(batch)
        new_tokens = output[:, encoded["input_ids"].shape[1] :]
        return [Generation(requests[i].case_id, requests[i].variant, sample, text=self._text(row, decoding),
                           prompt_tokens=len(ids[j]), completion_tokens=self._completion_length(row),
                           latency_s=round(share, 4))
                for j, (i, row) in enumerate(zip(batch, new_tokens, strict=True))]

    def _encode(self, model: Any, ids: list[list[int]], prefix: _PrefixCache) -> dict[str, Any]:
        """Generate inputs for one batch: left-padded rows, or shared prefix + padding + suffix with its cache.

        Called with the batch's adapter active: the prefix cache is computed under it.
        """
        import torch

        if not prefix.tokens:
            return dict(self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(model.device))
        suffixes = [row[len(prefix.tokens) :] for row in ids]
        width = max(len(suffix) for suffix in suffixes)
        pad = self.tokenizer.pad_token_id
        rows = [prefix.tokens + [pad] * (width - len(suffix)) + suffix for suffix in suffixes]
        mask = [[1] * len(prefix.tokens) + [0] * (width - len(suffix)) + [1] * len(suffix) for suffix in suffixes]
        if prefix.cache is None:
            output = model(input_ids=torch.tensor([prefix.tokens], device=model.device), use_cache=True)
            prefix.cache = output.cache if "cache" in output else output.past_key_values
        cache = copy.deepcopy(prefix.cache)
        cache.batch_repeat_interleave(len(ids))
        return {"input_ids": torch.tensor(rows, device=model.device),
                "attention_mask": torch.tensor(mask, device=model.device), _cache_argument(model): cache}

    def _text(self, row: Any, decoding: Decoding) -> str:
        text = self.tokenizer.decode(row, skip_special_tokens=True).strip()
        return trim_after_json(text) if decoding.stop_at_json_end else text

    def token_losses(self, texts: Sequence[str], adapter: str | None, *, batch_size: int = 8) -> list[float]:
        """Mean per-token cross-entropy of each text, with ``adapter`` active (None: the base model).

        The forgetting check compares these with the adapter enabled and disabled, as peft's
        method comparison does. The maths is :func:`harness.models.losses.mean_token_losses`
        (right padding, so every row's positions start at 0 and a text's loss does not depend
        on the batch it shares).

        Raises:
            InputError: a text of under two tokens (nothing to predict, no loss).
        """
        model, tokenizer = self.model, self.tokenizer
        with self._active(model, adapter):
            losses = mean_token_losses(model, tokenizer, texts, batch_size=batch_size)
        short = [i for i, loss in enumerate(losses) if loss is None]
        if short:
            raise InputError(f"text {short[0] + 1} of {len(texts)} has under two tokens: no token loss can be read; "
                             "give texts of a sentence or more", code="short-text")
        return [loss for loss in losses if loss is not None]

    def _decoding_kwargs(self, decoding: Decoding, prompt_width: int) -> dict[str, Any]:
        from transformers import StoppingCriteriaList

        sampling = decoding.temperature > 0
        stopping = [JsonEndCriteria(self.tokenizer, prompt_width)] if decoding.stop_at_json_end else []
        return {"max_new_tokens": decoding.max_new_tokens, "do_sample": sampling,
                "temperature": decoding.temperature if sampling else None, "top_p": decoding.top_p if sampling else None,
                "top_k": None, "pad_token_id": self.tokenizer.pad_token_id, "eos_token_id": self.tokenizer.eos_token_id,
                "stopping_criteria": StoppingCriteriaList(stopping)}

    def _completion_length(self, row: Any) -> int:
        ids = row.tolist()
        eos = self.tokenizer.eos_token_id
        return ids.index(eos) + 1 if eos in ids else sum(1 for t in ids if t != self.tokenizer.pad_token_id)

    @contextlib.contextmanager
    def _active(self, model: Any, adapter: str | None) -> Iterator[None]:
        if adapter is None:
            with model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext():
                yield
        else:
            if adapter not in self.adapters:
                raise ValueError(f"adapter {adapter!r} is not registered; registered: {', '.join(self.adapters) or 'none'}")
            model.set_adapter(adapter)
            yield


class _PrefixCache:
    """The tokens every prompt of a group starts with, and their key/value cache once computed."""

    def __init__(self, tokens: list[int]) -> None:
        self.tokens = tokens if len(tokens) >= MIN_SHARED_PREFIX else []
        self.cache: Any = None


def shared_prefix(rows: Sequence[Sequence[int]]) -> list[int]:
    """The longest token prefix common to all rows, leaving every row at least one token of its own."""
    if not rows:
        return []
    limit = min(len(row) for row in rows) - 1
    first, length = rows[0], 0
    while length < limit and all(row[length] == first[length] for row in rows):
        length += 1
    return list(first[:length])


def _with_static_cache(model: Any, encoded: dict[str, Any], max_new_tokens: int) -> dict[str, Any]:
    """``encoded`` with a preallocated cache for the whole generation, holding the shared prefix's keys when there is one."""
    from transformers import StaticCache

    argument = _cache_argument(model)
    width = encoded["input_ids"].shape[1]
    cache = StaticCache(config=model.config, max_cache_len=width + max_new_tokens)
    prefix = encoded.get(argument)
    if prefix is not None:  # rows were already repeated over the batch by _encode
        for layer, source in zip(cache.layers, prefix.layers, strict=True):
            layer.update(source.keys, source.values)
    return {**encoded, argument: cache}


def _cache_argument(model: Any) -> str:
    """``cache`` (transformers >= 5.x renamed it) or ``past_key_values``, as the model's forward names it."""
    forward = model.get_base_model().forward if hasattr(model, "get_base_model") else model.forward
    return "cache" if "cache" in inspect.signature(forward).parameters else "past_key_values"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
