"""A STUB of a serving engine with dynamic LoRA loading, on 127.0.0.1, for tests.

It stands in for vLLM (which cannot run on these CPUs) with the same three routes a
harness uses: ``POST /v1/chat/completions``, ``POST /v1/load_lora_adapter`` and
``POST /v1/unload_lora_adapter`` (``lora_name``, ``lora_path``), answering as vLLM does
(400 for a name already loaded, 404 for an unknown model or adapter). Generation is real:
the harness's local backend with the model given, so a loaded adapter's bytes really
change the answers. ``lora=False`` plays an engine started without ``--enable-lora``
(both LoRA routes answer 404).

    with lora_engine(checkpoint) as engine:
        backend = OpenAICompatibleBackend(base_url=engine.base_url, model=engine.model_name)
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.eval.backends.local import LocalBackend
from harness.records import Decoding, GenerationRequest


@dataclass
class EngineStub:
    """The stub's state: what is loaded and what it was asked."""

    backend: LocalBackend
    model_name: str
    lora: bool = True
    base_url: str = ""
    served: dict[str, str] = field(default_factory=dict)
    """Loaded adapters: lora_name → lora_path."""
    events: list[tuple[str, str]] = field(default_factory=list)
    """``(route, lora_name or model)`` in order of arrival, for load, unload and completions."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def handle(self, route: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Status and JSON (or text) answer of one POST."""
        with self.lock:  # one generation at a time, as the local backend expects
            if route == "chat/completions":
                return self._complete(body)
            if route in ("load_lora_adapter", "unload_lora_adapter") and self.lora:
                self.events.append((route, body["lora_name"]))
                return self._load(body) if route == "load_lora_adapter" else self._unload(body)
            return 404, {"detail": "Not Found"}

    def _load(self, body: dict[str, Any]) -> tuple[int, Any]:
        name, path = body["lora_name"], body["lora_path"]
        if name in self.served:
            return 400, {"error": {"message": f"The lora adapter '{name}' has already been loaded.", "code": 400}}
        self.backend.add_adapter(name, Path(path))
        self.served[name] = path
        return 200, f"Success: LoRA adapter '{name}' added successfully."

    def _unload(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.served.pop(body["lora_name"], None) is None:
            return 404, {"error": {"message": f"The lora adapter '{body['lora_name']}' cannot be found.", "code": 404}}
        return 200, f"Success: LoRA adapter '{body['lora_name']}' removed successfully."

    def _complete(self, body: dict[str, Any]) -> tuple[int, Any]:
        model = body["model"]
        if model != self.model_name and model not in self.served:
            return 404, {"error": {"message": f"The model `{model}` does not exist.", "code": 404}}
        self.events.append(("chat/completions", model))
        request = GenerationRequest("stub", "stub", tuple(body["messages"]), adapter=None if model == self.model_name else model)
        decoding = Decoding(max_new_tokens=body.get("max_tokens") or 16, temperature=body.get("temperature") or 0.0,
                            top_p=body.get("top_p") or 1.0, seed=body.get("seed") or 0)
        [generation] = self.backend.generate([request], decoding)
        if generation.error:
            return 500, {"error": {"message": generation.error}}
        message = {"role": "assistant", "content": generation.text}
        return 200, {"id": "stub", "object": "chat.completion", "created": 0, "model": model,
                     "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                     "usage": {"prompt_tokens": generation.prompt_tokens, "completion_tokens": generation.completion_tokens,
                               "total_tokens": (generation.prompt_tokens or 0) + (generation.completion_tokens or 0)}}


def _handler(engine: EngineStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            status, answer = engine.handle(self.path.removeprefix("/v1/"), body)
            data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(answer, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def lora_engine(model: str | Path, *, lora: bool = True, model_name: str = "tiny-base") -> Iterator[EngineStub]:
    """Serve ``model`` (a checkpoint folder) on 127.0.0.1 until the block ends."""
    engine = EngineStub(LocalBackend(str(model), batch_size=1, device="cpu"), model_name, lora)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(engine))
    engine.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
