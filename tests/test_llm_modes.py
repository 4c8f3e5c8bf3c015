"""Structured-output mode fallback against a server that rejects json_schema (llama.cpp
style): one rejected probe, then json_object with the schema for the rest of the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.openai_server import FakeOpenAI
from support.paths import SEED

from digest.cli import main


@pytest.fixture
def picky_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reject_json_schema=True) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789")
        monkeypatch.setenv("DIGEST_MODEL", "fake-model")
        yield server


def run(capsys: pytest.CaptureFixture[str], *args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(SEED), "--out", "out", *args])
    err = capsys.readouterr().err
    code = exit_info.value.code
    assert "Traceback" not in err
    return code if isinstance(code, int) else 1


def formats(server: FakeOpenAI) -> list[str]:
    def name(request: dict[str, Any]) -> str:
        fmt = request.get("response_format")
        if not isinstance(fmt, dict):
            return "none"
        return "json_object+schema" if "schema" in fmt else str(fmt["type"])

    return [name(r) for r in server.requests]


def manifest(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    return data


def test_rejected_json_schema_falls_back_once_for_the_whole_run(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--lang", "en,tr,de", "-j", "1") == 0

    assert formats(picky_server) == ["json_schema"] + ["json_object+schema"] * 3
    schema = picky_server.requests[1]["response_format"]["schema"]
    assert set(schema["required"]) == {"headline", "summary", "key_points"}
    data = manifest(tmp_path)
    assert data["structured_mode"] == "json_object+schema"
    assert [r["status"] for r in data["results"]] == ["published"] * 3
    # The rejected probe is not an answer: it is neither a re-ask nor a paid call.
    assert [r["attempts"] for r in data["results"]] == [1, 1, 1]
    assert data["usage"]["calls"] == 3


def test_fallback_under_concurrency_settles_on_one_mode(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    picky_server.latency = 0.1  # the probes overlap
    assert run(capsys, "--lang", "en,tr,ar,de", "-j", "4") == 0

    seen = formats(picky_server)
    rejected = seen.count("json_schema")
    # Workers that probed at the same time may each be rejected once, never more.
    assert 1 <= rejected <= 4
    assert seen.count("json_object+schema") == 4
    assert len(seen) == 4 + rejected
    assert manifest(tmp_path)["structured_mode"] == "json_object+schema"


def test_index_page_shows_the_structured_mode(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--lang", "en") == 0
    assert "json_object+schema" in (tmp_path / "out" / "index.html").read_text("utf-8")


def test_a_server_accepting_json_schema_is_never_downgraded(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--lang", "en,tr", "-j", "2") == 0

    assert formats(endpoint_env) == ["json_schema", "json_schema"]
    fmt = endpoint_env.requests[0]["response_format"]
    assert fmt["json_schema"]["name"] == "summary_evidence"
    assert manifest(tmp_path)["structured_mode"] == "json_schema"


def test_the_embedded_model_gets_minutes_per_answer() -> None:
    # A CPU answer on 2 busy cores took over the 120 s default (bench/eval_models.py).
    from digest.config import EndpointSettings
    from digest.llm.endpoint import LOCAL_MIN_TIMEOUT, local_timeout

    assert local_timeout(EndpointSettings()) == LOCAL_MIN_TIMEOUT == 600
    assert local_timeout(EndpointSettings(timeout=900)) == 900
