"""The answer cache seen from the command line: pay once, pay only for what is new, survive
a corrupt file, two runs at once and a run killed halfway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli import Result, invoke
from support.openai_server import FakeOpenAI
from support.paths import REPO, SEED

TOPICS = ["ferry", "library", "market", "orchard", "museum", "tramway"]


def run(capsys: pytest.CaptureFixture[str], *args: str, out: str = "out") -> Result:
    result = invoke(capsys, "run", *args, "--out", out)
    assert "Traceback" not in result.err
    return result


def write_articles(folder: Path, count: int, topics: list[str] = TOPICS) -> list[str]:
    """Small distinct English articles (no digits: nothing for the number check to miss)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for topic in topics[:count]:
        path = folder / f"{topic}.txt"
        path.write_text(
            f"Town council reviews the {topic}\n\n"
            f"The town council met this week to review the future of the {topic}. "
            f"Residents asked for longer opening hours and better access to the {topic}. "
            f"Officials said a decision is expected after the summer consultation.\n",
            encoding="utf-8",
        )
        paths.append(str(path))
    return paths


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def without_timestamps(manifest: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(manifest)
    for key in ("generated_at", "timings", "usage", "cache_hits", "structured_mode_source"):
        data.pop(key)
    for result in data["results"]:
        result.pop("cached")
    return data


def subprocess_env(server: FakeOpenAI, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY="sk-test-SECRET-0123456789",
        DIGEST_MODEL="fake-model",
        **extra,
    )
    return env


def digest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "digest", *args]


@pytest.fixture
def slow_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(latency=0.3) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789")
        monkeypatch.setenv("DIGEST_MODEL", "fake-model")
        yield server


# ---- pay once --------------------------------------------------------------------------


def test_second_identical_run_makes_no_calls(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = run(capsys, str(SEED), "--lang", "en,tr", out="first")
    assert first.code == 0, first.err
    assert endpoint_env.chat_calls == 2

    second = run(capsys, str(SEED), "--lang", "en,tr", out="second")

    assert second.code == 0, second.err
    assert endpoint_env.chat_calls == 2  # nothing new asked
    assert "0 LLM call(s)" in second.out and "2 cache hit(s)" in second.out
    one, two = snapshot(tmp_path / "first"), snapshot(tmp_path / "second")
    assert set(one) == set(two)
    for name in ("digest.en.md", "digest.tr.md", "digest.en.txt", "digest.tr.txt"):
        # Same words; only the token count in the footer differs (nothing was paid).
        assert one[name].split(b"\n")[:-3] == two[name].split(b"\n")[:-3], name
    first_manifest, manifest = json.loads(one["manifest.json"]), json.loads(two["manifest.json"])
    # The JSON mode was probed once, by the first run, and remembered for the second.
    assert endpoint_env.probe_calls == 1
    assert first_manifest["structured_mode_source"] == "probed"
    assert manifest["structured_mode_source"] == "remembered"
    assert without_timestamps(one["manifest.json"]) == without_timestamps(two["manifest.json"])
    assert manifest["cache_hits"] == 2 and manifest["usage"]["calls"] == 0
    assert all(r["cached"] for r in manifest["results"])


def test_adding_a_language_pays_only_for_that_language(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    articles = write_articles(tmp_path / "in", 3)
    assert run(capsys, *articles, "--lang", "en,tr").code == 0
    assert endpoint_env.chat_calls == 6

    result = run(capsys, *articles, "--lang", "en,tr,de")

    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == 6 + 3  # one call per article, all for German
    new = endpoint_env.requests[6:]
    assert all(r["messages"][-1]["content"].endswith("(de)") for r in new)
    assert "6 cache hit(s)" in result.out


def test_a_different_model_asks_again(
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(capsys, str(SEED), "--lang", "en,tr").code == 0
    monkeypatch.setenv("DIGEST_MODEL", "other-model")

    result = run(capsys, str(SEED), "--lang", "en,tr")

    assert result.code == 0
    assert endpoint_env.chat_calls == 4
    assert [r["model"] for r in endpoint_env.requests[2:]] == ["other-model"] * 2
    # ... and the first model's answers are still there.
    monkeypatch.setenv("DIGEST_MODEL", "fake-model")
    assert run(capsys, str(SEED), "--lang", "en,tr").code == 0
    assert endpoint_env.chat_calls == 4


def test_no_cache_always_calls_and_stores_nothing(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for _ in range(2):
        result = run(capsys, str(SEED), "--lang", "en", "--no-cache")
        assert result.code == 0 and "0 cache hit(s)" in result.out
    assert endpoint_env.chat_calls == 2
    assert not (tmp_path / "user-cache" / "cache.sqlite3").exists()


def test_cache_flag_chooses_the_file(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    own = tmp_path / "elsewhere" / "answers.db"
    assert run(capsys, str(SEED), "--cache", str(own)).code == 0
    assert run(capsys, str(SEED), "--cache", str(own)).code == 0
    assert endpoint_env.chat_calls == 1
    assert own.is_file() and not (tmp_path / "user-cache" / "cache.sqlite3").exists()


def test_corrupt_cache_is_moved_aside_and_the_run_works(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cache_dir = tmp_path / "user-cache"
    cache_dir.mkdir()
    garbage = b"this is not a SQLite database\x00\xff" * 64
    (cache_dir / "cache.sqlite3").write_bytes(garbage)

    result = run(capsys, str(SEED), "--lang", "en")

    assert result.code == 0, result.err
    assert "corrupt" in result.err
    aside = [p for p in cache_dir.iterdir() if p.name.startswith("cache.sqlite3.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    # The fresh cache works: the next run is free.
    again = run(capsys, str(SEED), "--lang", "en")
    assert again.code == 0 and "corrupt" not in again.err
    assert endpoint_env.chat_calls == 1


def test_cache_stats_and_clear(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, str(SEED), "--lang", "en,tr,de").code == 0

    stats = invoke(capsys, "cache", "stats")
    assert stats.code == 0
    assert str(tmp_path / "user-cache" / "cache.sqlite3") in stats.out
    # One summary in the article's language, two translations of it (strategy pivot).
    assert "entries: 3" in stats.out
    assert "prompt summarize@2: 1" in stats.out and "prompt translate@1: 2" in stats.out
    assert "model fake-model: 3" in stats.out

    cleared = invoke(capsys, "cache", "clear", "--yes")
    assert cleared.code == 0 and "removed 3" in cleared.out
    assert "entries: 0" in invoke(capsys, "cache", "stats").out

    assert run(capsys, str(SEED), "--lang", "en").code == 0
    assert endpoint_env.chat_calls == 4  # cleared answers are paid for again


def test_cache_clear_without_yes_asks_and_keeps_on_no(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, str(SEED)).code == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    refused = invoke(capsys, "cache", "clear")
    assert refused.code != 0
    assert "entries: 1" in invoke(capsys, "cache", "stats").out


def test_withheld_items_are_cached_until_retry_withheld(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    from support.openai_server import Fault

    endpoint_env.set_default(Fault.wrong_language("de"))
    assert run(capsys, str(SEED), "--lang", "tr").code == 3
    paid = endpoint_env.chat_calls
    # The English summary asked and re-asked twice (withheld; its extract stands in), then
    # the extract's Turkish translation, three times too (withheld; English shown instead).
    assert paid == 6
    assert run(capsys, str(SEED), "--lang", "tr").code == 3
    assert endpoint_env.chat_calls == paid  # a withheld answer is not paid for twice

    endpoint_env.set_default(None)
    result = run(capsys, str(SEED), "--lang", "tr", "--retry-withheld")
    assert result.code == 0, result.err
    assert endpoint_env.chat_calls == paid + 2  # the summary, then its translation


# ---- two processes, one cache file -----------------------------------------------------


def test_two_processes_share_one_cache_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    articles = write_articles(tmp_path / "in", 2)
    with FakeOpenAI(latency=0.05) as server:
        env = subprocess_env(server)
        procs = [
            subprocess.Popen(
                digest_command(
                    "run", *articles, "-l", "en,tr", "-j", "2", "-o", str(tmp_path / name)
                ),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("a", "b")
        ]
        outputs = [proc.communicate(timeout=60) for proc in procs]
        calls = server.chat_calls

    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "locked" not in err
    assert 4 <= calls <= 8  # each task asked at most once per process
    for name in ("a", "b"):
        assert len(json.loads((tmp_path / name / "manifest.json").read_bytes())["results"]) == 4
    assert "entries: 4" in invoke(capsys, "cache", "stats").out


# ---- killed midway ---------------------------------------------------------------------


def test_killed_run_keeps_previous_outputs_and_rerun_pays_only_for_the_rest(
    slow_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    old_articles = write_articles(tmp_path / "old", 2, ["harbour", "stadium"])
    slow_server.latency = 0.0
    assert run(capsys, *old_articles, "--lang", "en,tr").code == 0
    before = snapshot(out)
    slow_server.latency = 0.3
    base = slow_server.chat_calls

    articles = write_articles(tmp_path / "new", 6)
    tasks = len(articles) * 2
    proc = subprocess.Popen(
        digest_command("run", *articles, "--lang", "en,tr", "-j", "1", "--out", str(out)),
        env=subprocess_env(slow_server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while slow_server.chat_calls - base < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    first_calls = slow_server.chat_calls - base
    assert 4 <= first_calls < tasks

    assert snapshot(out) == before  # nothing half-written, no temp files left behind

    slow_server.latency = 0.0
    result = run(capsys, *articles, "--lang", "en,tr")
    assert result.code == 0, result.err
    second_calls = slow_server.chat_calls - base - first_calls
    assert second_calls < tasks
    # Every answer the killed run received was kept; at most the one in flight is lost.
    assert tasks <= first_calls + second_calls <= tasks + 1
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert len(manifest["results"]) == tasks
    assert sum(r["cached"] for r in manifest["results"]) == tasks - second_calls
