"""A scripted OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1, for fault tests and the benchmark.

Each call is answered by a *behaviour*: a function from the :class:`Call` (its 0-based
index, JSON payload and headers) to a :class:`Reply`. The server is threaded, so it
serves concurrent requests, and counts requests, in-flight requests and the
``Authorization`` headers it saw.

    with stub_server(fail_times(2, status=429, retry_after=1)) as (base_url, stats):
        ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request as the stub saw it."""

    index: int
    """0-based order of arrival."""
    payload: dict[str, Any]
    """The JSON body."""
    headers: dict[str, str]
    """Request headers, lower-cased names."""

    @property
    def user_text(self) -> str:
        """Content of the last message."""
        return str(self.payload.get("messages", [{}])[-1].get("content", ""))


@dataclass(frozen=True)
class Reply:
    """What the stub answers."""

    status: int = 200
    """HTTP status."""
    body: Any = None
    """JSON body; None means a completion echoing the last message."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (e.g. ``Retry-After``)."""
    delay_s: float = 0.0
    """Seconds to wait before answering."""
    raw: bytes | None = None
    """Send these bytes as the body instead of JSON (a proxy's HTML page, a truncated reply)."""


Behaviour = Callable[[Call], Reply]
PROMPT_TOKENS, COMPLETION_TOKENS = 11, 5
"""The usage every stub completion reports."""


@dataclass
class Stats:
    """What the stub counted."""

    requests: int = 0
    """Requests received."""
    in_flight: int = 0
    """Requests being handled now."""
    max_in_flight: int = 0
    """Most requests handled at once."""
    authorization: list[str] = field(default_factory=list)
    """The ``Authorization`` header of each request."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def completion(text: str, *, usage: bool = True) -> dict[str, Any]:
    """A chat completion body holding ``text``."""
    body: dict[str, Any] = {"id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": text}}]}
    if usage:
        body["usage"] = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                         "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
    return body


def ok(latency_s: float = 0.0) -> Behaviour:
    """Always answer with an echo after ``latency_s``."""
    return lambda call: Reply(delay_s=latency_s)


def fail_times(times: int, *, status: int = 500, retry_after: float | None = None) -> Behaviour:
    """Answer ``status`` to the first ``times`` calls, then echo."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}

    def behaviour(call: Call) -> Reply:
        if call.index < times:
            return Reply(status, {"error": {"message": f"scripted {status}", "type": "stub"}}, headers)
        return Reply()

    return behaviour


def hang(seconds: float) -> Behaviour:
    """Answer only after ``seconds`` (longer than the client's timeout)."""
    return lambda call: Reply(delay_s=seconds)


def malformed(body: Any) -> Behaviour:
    """Answer 200 with ``body`` as given."""
    return lambda call: Reply(body=body)


def _handler(behaviour: Behaviour, stats: Stats, stopping: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK stall

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with stats.lock:
                index, stats.requests = stats.requests, stats.requests + 1
                stats.in_flight += 1
                stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
                stats.authorization.append(self.headers.get("Authorization", ""))
            try:
                reply = behaviour(Call(index, payload, {k.lower(): v for k, v in self.headers.items()}))
                if reply.delay_s:
                    stopping.wait(reply.delay_s)
                body = completion(f"  echo: {Call(index, payload, {}).user_text}  ") if reply.body is None else reply.body
                self._send(reply.status, json.dumps(body).encode() if reply.raw is None else reply.raw, reply.headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout)
            finally:
                with stats.lock:
                    stats.in_flight -= 1

        def do_GET(self) -> None:  # noqa: N802
            with stats.lock:
                counts = {"requests": stats.requests, "max_in_flight": stats.max_in_flight}
            self._send(200 if self.path == "/stats" else 404, json.dumps(counts).encode(), {})

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base class signature)
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


@contextlib.contextmanager
def stub_server(behaviour: Behaviour | None = None) -> Iterator[tuple[str, Stats]]:
    """Serve ``behaviour`` (default: echo at once) on a free port; yields ``(base_url, stats)``."""
    stats, stopping = Stats(), threading.Event()
    server = _Server(("127.0.0.1", 0), _handler(behaviour or ok(), stats, stopping))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", stats
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def main() -> None:
    """Serve an echo with a fixed latency until killed; prints the base URL, then ``GET /stats`` gives the counts."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    with stub_server(ok(args.latency_ms / 1000)) as (url, _):
        print(url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
