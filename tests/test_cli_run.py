"""`digest run` end to end: the real CLI, the real openai client, a real loopback server.

Each test drives ``digest.cli.main`` in-process (capsys for the streams) or, where the point
is what a user sees when something unexpected happens, ``python -m digest`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import invoke
from support.openai_server import CANNED, FakeOpenAI, Fault
from support.paths import REPO, SEED

KEY = "sk-test-SECRET"
LANGS = ["en", "tr", "ar", "de"]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The test's environment (isolated by conftest) for a `python -m digest` child."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        env=env or subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def point_at(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789")
    monkeypatch.setenv("DIGEST_MODEL", "fake-model")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def output_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


# ---- 1. happy path -----------------------------------------------------------------------


def test_happy_path_writes_every_language_and_records_provenance(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = invoke(capsys, "run", str(SEED), "--lang", ",".join(LANGS), "--out", "out")

    assert result.code == 0, result.err
    out = tmp_path / "out"
    expected = {f"digest.{lang}.{kind}" for lang in LANGS for kind in ("md", "html", "txt")}
    assert expected | {"index.html", "manifest.json"} <= set(output_files(out))
    english = (out / "digest.en.md").read_text(encoding="utf-8")
    # Strategy pivot: English (the article's language) is summarised from the article, in
    # its words (the fake cites and shortens its sentences) ...
    assert "Turkey has fulfilled its responsibilities" in english
    for lang in LANGS[1:]:
        headline, sentences = CANNED[lang]
        for kind in ("md", "html", "txt"):
            text = (out / f"digest.{lang}.{kind}").read_text(encoding="utf-8")
            # ... and the others are translations of that summary, in their language.
            assert headline in text, (lang, kind)
            others = [CANNED[o][0] for o in LANGS if o != lang]
            assert not any(other in text for other in others), (lang, kind)
        html = (out / f"digest.{lang}.html").read_text(encoding="utf-8")
        assert f'lang="{lang}"' in html
    assert 'dir="rtl"' in (out / "digest.ar.html").read_text(encoding="utf-8")

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    port = endpoint_env.base_url.split(":")[2].split("/")[0]
    assert manifest["prompt"] == "summarize@2"
    assert manifest["model"] == "fake-model"
    assert manifest["endpoint"] == f"127.0.0.1:{port}"
    assert manifest["structured_mode"] == "json_schema"
    assert manifest["structured_mode_source"] == "probed"
    # Four answers and the capability probe made before them.
    assert manifest["usage"]["calls"] == 5 == endpoint_env.all_calls
    assert (endpoint_env.chat_calls, endpoint_env.probe_calls) == (4, 1)
    assert manifest["usage"]["prompt_tokens"] > 0 and manifest["usage"]["completion_tokens"] > 0
    assert sorted(r["lang"] for r in manifest["results"]) == sorted(LANGS)
    origins = {r["lang"]: r["origin"] for r in manifest["results"]}
    assert origins == {"en": "model", "tr": "translation", "ar": "translation", "de": "translation"}
    for story in manifest["results"]:
        assert story["status"] == "published"
        names = {c["name"] for c in story["checks"]}
        assert {"language", "numbers", "entities"} <= names
        assert all(c["status"] != "fail" for c in story["checks"])
        # Every claim carries the article sentences it rests on, and passed its checks.
        claims = story["summary"]["sentences"] + story["summary"]["points"]
        assert claims and all(c["evidence"] for c in claims)
    english_claims = [r for r in manifest["results"] if r["lang"] == "en"][0]["summary"]
    for claim in english_claims["sentences"] + english_claims["points"]:
        checked = {c["name"]: c["status"] for c in claim["checks"]}
        assert checked["cited numbers"] == checked["support"] == "ok", claim
    # One summary line on stdout: calls and tokens.
    assert "5 LLM call(s)" in result.out and "tokens in" in result.out
    assert "published 4, withheld 0" in result.out

    secret = KEY.encode()
    for name, data in output_files(out).items():
        assert secret not in data, name
    cache_dir = tmp_path / "user-cache"
    cache_files = list(cache_dir.iterdir())
    assert any(p.name == "cache.sqlite3" for p in cache_files)
    for path in cache_files:
        assert secret not in path.read_bytes(), path.name
    assert KEY not in result.out + result.err


def test_every_request_names_the_model_and_a_language(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke(capsys, "run", str(SEED), "--lang", "en,tr", "--out", "out").code == 0
    assert {r["model"] for r in endpoint_env.requests} == {"fake-model"}
    users = [r["messages"][-1]["content"] for r in endpoint_env.requests]
    assert sorted(u.splitlines()[-1] for u in users) == [
        "Target language: English (en)",
        "Target language: Turkish (tr)",
    ]


# ---- 2. bad input and unusable endpoints -----------------------------------------------


def _bad_inputs(tmp_path: Path) -> dict[str, list[str]]:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 8)
    return {
        "missing file": [str(tmp_path / "nope.txt")],
        "empty file": [str(tmp_path / "empty.txt")],
        "binary file": [str(tmp_path / "blob.txt")],
        "unknown language": [str(SEED), "--lang", "en,xx"],
        "unknown prompt version": [str(SEED), "--prompt", "summarize@99"],
    }


@pytest.mark.parametrize(
    "case",
    ["missing file", "empty file", "binary file", "unknown language", "unknown prompt version"],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: str, endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = _bad_inputs(tmp_path)[case]
    result = invoke(capsys, "run", *args, "--out", "out")

    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.startswith("digest: error:"), result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    assert not (tmp_path / "out").exists()
    assert endpoint_env.chat_calls == 0
    expected = {
        "missing file": "nope.txt",
        "empty file": "empty",
        "binary file": "binary",
        "unknown language": "'xx'",
        "unknown prompt version": "summarize@99",
    }[case]
    assert expected in result.err


def test_unreachable_endpoint_is_exit_4_naming_the_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    port = closed_port()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789")
    monkeypatch.setenv("DIGEST_RETRIES", "2")  # the default backs off for seconds

    result = invoke(capsys, "run", str(SEED), "--out", "out")

    assert result.code == 4
    [line] = result.error_lines()
    assert f"127.0.0.1:{port}" in line
    assert KEY not in result.err and "Traceback" not in result.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
def test_server_answering_garbage_is_exit_4(
    content_type: str, endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_env.set_default(Fault.garbage_http(content_type))
    result = invoke(capsys, "run", str(SEED), "--out", "out")

    assert result.code == 4
    [line] = result.error_lines()
    assert "not an OpenAI-compatible response" in line
    assert KEY not in result.err


def test_unauthorized_is_exit_4_at_once_with_a_key_hint(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.set_default(Fault.status(401))
    result = invoke(capsys, "run", str(SEED), "--lang", "en,tr", "-j", "1", "--out", "out")

    assert result.code == 4
    [line] = result.error_lines()
    assert "401" in line and "OPENAI_API_KEY" in line
    assert KEY not in result.err
    # The capability probe, before any task, meets the 401 once: never retried, no task asked.
    assert (endpoint_env.probe_calls, endpoint_env.chat_calls) == (1, 0)
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_a_usage_error_before_any_call(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("not a folder", encoding="utf-8")
    result = invoke(capsys, "run", str(SEED), "--out", "taken")

    assert result.code == 2
    assert endpoint_env.chat_calls == 0
    [line] = result.error_lines()
    assert "taken" in line


# ---- no traceback ever reaches a user (subprocess: main() does not re-raise there) -------


def test_subprocess_bad_input_prints_one_line(tmp_path: Path) -> None:
    proc = run_module("run", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "out"))

    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"digest: error: {tmp_path / 'missing.txt'}: no such file"]
    assert "Traceback" not in proc.stderr


def test_subprocess_unreachable_endpoint_prints_one_error_line(tmp_path: Path) -> None:
    env = subprocess_env(
        OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1",
        OPENAI_API_KEY="sk-test-SECRET-0123456789",
        DIGEST_RETRIES="1",
    )
    proc = run_module("run", str(SEED), "--out", str(tmp_path / "out"), env=env)

    assert proc.returncode == 4
    assert "Traceback" not in proc.stderr and KEY not in proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if ln.startswith("digest: error:")]) == 1


def test_subprocess_happy_path_exit_0(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        env = subprocess_env(
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-test-SECRET-0123456789",
            DIGEST_MODEL="fake-model",
        )
        proc = run_module("run", str(SEED), "--lang", "en,de", "--out", "out", env=env)
        calls = server.chat_calls

    assert proc.returncode == 0, proc.stderr
    assert calls == 2
    assert "Traceback" not in proc.stderr and KEY not in proc.stdout + proc.stderr
    # Two answers and the capability probe.
    assert proc.stdout.count("\n") == 1 and "3 LLM call(s)" in proc.stdout
    assert (tmp_path / "out" / "digest.de.md").is_file()


def test_subprocess_reads_an_article_from_stdin(tmp_path: Path) -> None:
    article = (
        "Harbour ferry returns\n\n"
        "The harbour ferry returned to service this week after repairs to its engine.\n"
    )
    with FakeOpenAI() as server:
        env = subprocess_env(
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-test-SECRET-0123456789",
            DIGEST_MODEL="fake-model",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "digest", "run", "-", "--lang", "de", "--out", "out"],
            input=article,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        calls = server.chat_calls

    assert proc.returncode == 0, proc.stderr
    assert calls == 2  # the English summary (not asked for, so not shown), its translation
    md = (tmp_path / "out" / "digest.de.md").read_text("utf-8")
    assert CANNED["de"][0] in md and "Harbour ferry returns" in md
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    assert manifest["articles"][0]["source"] == "stdin"


# ---- 8. concurrency ----------------------------------------------------------------------


def test_concurrency_overlaps_calls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI(latency=0.3) as server:
        point_at(server, monkeypatch)
        result = invoke(capsys, "run", str(SEED), "--lang", ",".join(LANGS), "-j", "4", "-o", "o")
        assert result.code == 0, result.err
        assert server.chat_calls == 4
        assert server.max_in_flight >= 3


def test_concurrency_one_never_overlaps(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI(latency=0.05) as server:
        point_at(server, monkeypatch)
        result = invoke(capsys, "run", str(SEED), "--lang", "en,tr,de", "-j", "1", "-o", "o")
        assert result.code == 0, result.err
        assert server.max_in_flight == 1


# ---- 11. budget --------------------------------------------------------------------------


def test_token_budget_smaller_than_one_call_asks_nothing(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A call reserves its estimated prompt + max_tokens before it is sent: none fits in 1.
    result = invoke(
        capsys, "run", str(SEED), "--lang", "en,tr,de", "-j", "1", "--max-tokens", "1", "-o", "o"
    )

    assert result.code == 3
    assert endpoint_env.chat_calls == 0
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    shown = [(r["lang"], r["status"], r["origin"]) for r in manifest["results"]]
    # Nothing could be asked: the English extract stands in for the English summary, and
    # readers of the other languages get it too, labelled.
    assert shown == [
        ("en", "published", "extract"),
        ("tr", "published", "source-language"),
        ("de", "published", "source-language"),
    ]
    for story in manifest["results"]:
        assert "token budget" in story["note"]
    assert result.err.count("token budget") == 3
    assert "published 3 (2 in the article's language), withheld 0" in result.out


def test_token_budget_holds_under_concurrency(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The English summary first, then seven translations start together; each costs a
    # few hundred tokens, the budget allows a few.
    budget = 3000
    langs = "en,tr,ar,de,fr,es,it,nl"
    with FakeOpenAI(latency=0.3) as server:
        point_at(server, monkeypatch)
        result = invoke(
            capsys, "run", str(SEED), "--lang", langs, "-j", "8", "--max-tokens", str(budget),
            "-o", "o",
        )  # fmt: skip
    assert result.code == 3, result.err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    spent = sum(
        r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] for r in manifest["results"]
    )
    assert spent <= budget
    asked = [r for r in manifest["results"] if r["origin"] in ("model", "translation")]
    stopped = [r for r in manifest["results"] if "token budget" in (r["note"] or r["reason"] or "")]
    assert asked and stopped
    assert all(r["origin"] == "source-language" for r in stopped)
    assert server.chat_calls == len(asked)
