"""The embedded default, for real: the bundled GGUF served by llama.cpp on loopback and
reached through the openai client. Slow (about two minutes on 2 cores), never mocked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.local_model

SHORT_ARTICLE = """Harbour town opens new library

The town of Kelso Bay opened a new public library on Monday.
The library has 40,000 books and a reading room for 120 people.
Mayor Ana Lopez said the building cost 12 million euros and took two years to build.
"""


def _llama_servers() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "llama_cpp.server" in cmdline:
            found.append(proc)
    return found


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DIGEST_"))}
    env["DIGEST_CACHE_DIR"] = os.environ["DIGEST_CACHE_DIR"]
    return env


def test_embedded_model_runs_end_to_end(tmp_path: Path) -> None:
    article = tmp_path / "library.txt"
    article.write_text(SHORT_ARTICLE, encoding="utf-8")
    before = {p.pid for p in _llama_servers()}
    result = subprocess.run(
        [sys.executable, "-m", "digest", "run", str(article), "--lang", "en", "--out", "out"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=900,
    )
    assert result.returncode in (0, 3), result.stderr
    assert "Traceback" not in result.stderr
    assert "embedded local model" in result.stderr
    assert "OPENAI_BASE_URL" in result.stderr  # the one-line hint on how to switch
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["endpoint"].startswith("local:")
    assert manifest["structured_mode"] == "json_object+schema"
    assert manifest["usage"]["calls"] >= 1
    assert manifest["usage"]["completion_tokens"] > 0
    [story] = manifest["results"]
    # Whatever the tiny model wrote, nothing unverified is published.
    if story["status"] == "published":
        assert all(check["status"] != "fail" for check in story["checks"])
    else:
        assert story["reason"]
        md = (tmp_path / "out" / "digest.en.md").read_text(encoding="utf-8")
        assert "No verified English summary" in md
    # The server was stopped with the run: no orphan llama.cpp process.
    assert {p.pid for p in _llama_servers()} - before == set()


def test_ctrl_c_stops_the_local_server(tmp_path: Path) -> None:
    article = tmp_path / "library.txt"
    article.write_text(SHORT_ARTICLE, encoding="utf-8")
    before = {p.pid for p in _llama_servers()}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digest",
            "run",
            str(article),
            "--lang",
            "en,de",
            "--out",
            "out",
            "--no-cache",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        # A shell without job control starts background jobs with SIGINT ignored, and a
        # Python started that way never raises KeyboardInterrupt: a user's Ctrl-C reaches
        # digest with the default disposition, so the test gives it that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not ({p.pid for p in _llama_servers()} - before):
            time.sleep(0.2)
        started = {p.pid for p in _llama_servers()} - before
        assert started, "the local llama.cpp server never started"
        time.sleep(3)  # let it load the model and take a request
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    gone_deadline = time.monotonic() + 15
    while time.monotonic() < gone_deadline and {p.pid for p in _llama_servers()} & started:
        time.sleep(0.2)
    assert not ({p.pid for p in _llama_servers()} & started)
    assert not (tmp_path / "out" / "manifest.json").exists()  # nothing half-written
