"""The structured-output mode: settled once per endpoint and model by a capability probe
before the fan-out, remembered in the cache, never chosen by a passing error. Against a
server that rejects json_schema (llama.cpp style) the probe finds json_object with the
schema, and no task request is ever refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli import invoke
from support.openai_server import FakeOpenAI, Fault
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


def format_name(request: dict[str, Any]) -> str:
    fmt = request.get("response_format")
    if not isinstance(fmt, dict):
        return "none"
    return "json_object+schema" if "schema" in fmt else str(fmt["type"])


def formats(server: FakeOpenAI) -> list[str]:
    """The format of every task request (capability probes apart)."""
    return [format_name(r) for r in server.requests]


def probe_formats(server: FakeOpenAI) -> list[str]:
    return [format_name(r) for r in server.probes]


LLAMA_CPP_500 = json.dumps(
    {
        "error": {
            "code": 500,
            "message": 'response_format type must be one of "text" or "json_object", but got: '
            "json_schema",
            "type": "server_error",
        }
    }
)


def manifest(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    return data


def test_the_probe_finds_the_mode_before_any_task_is_asked(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--lang", "en,tr,de", "-j", "1") == 0

    assert probe_formats(picky_server) == ["json_schema", "json_object+schema"]
    assert formats(picky_server) == ["json_object+schema"] * 3  # no task was refused
    schema = picky_server.requests[0]["response_format"]["schema"]
    assert set(schema["required"]) == {"headline", "summary", "key_points"}
    data = manifest(tmp_path)
    assert data["structured_mode"] == "json_object+schema"
    assert data["structured_mode_source"] == "probed"
    assert [r["status"] for r in data["results"]] == ["published"] * 3
    assert [r["attempts"] for r in data["results"]] == [1, 1, 1]
    # Three answers and the accepted probe; the refused probe was not paid for.
    assert data["usage"]["calls"] == 4


def test_under_concurrency_no_task_request_is_refused(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    picky_server.latency = 0.1  # the tasks overlap
    assert run(capsys, "--lang", "en,tr,ar,de", "-j", "4") == 0

    assert probe_formats(picky_server) == ["json_schema", "json_object+schema"]
    assert formats(picky_server) == ["json_object+schema"] * 4
    assert manifest(tmp_path)["structured_mode"] == "json_object+schema"


def test_a_remembered_mode_is_not_probed_again(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--lang", "en") == 0
    assert run(capsys, "--lang", "en,tr", "--out", "out2") == 0  # tr is new: one call

    assert picky_server.probe_calls == 2  # the first run's json_schema + json_object+schema
    assert formats(picky_server) == ["json_object+schema"] * 2
    data = json.loads((tmp_path / "out2" / "manifest.json").read_text("utf-8"))
    assert (data["structured_mode"], data["structured_mode_source"]) == (
        "json_object+schema",
        "remembered",
    )


def test_transient_probe_errors_are_retried_not_taken_for_a_refusal(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.enqueue_probe(Fault.status(429, retry_after=0.1), Fault.status(500))
    assert run(capsys, "--lang", "en") == 0

    assert probe_formats(endpoint_env) == ["json_schema"] * 3
    assert manifest(tmp_path)["structured_mode"] == "json_schema"


def test_llama_cpp_500_naming_response_format_is_a_refusal(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    endpoint_env.enqueue_probe(Fault.status(500, body=LLAMA_CPP_500))
    assert run(capsys, "--lang", "en") == 0

    # Refused by what it said, at once (no retries of the 500), then the next mode.
    assert probe_formats(endpoint_env) == ["json_schema", "json_object+schema"]
    assert manifest(tmp_path)["structured_mode"] == "json_object+schema"


def test_a_stale_remembered_mode_steps_down_once_for_the_run(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from digest.cache import Cache
    from digest.config import load_settings

    settings = load_settings()
    with Cache(settings.cache.file) as cache:  # the server took json_schema once
        cache.remember_capability(settings.endpoint.label(), "fake-model", "json_schema")
    picky_server.latency = 0.05
    assert run(capsys, "--lang", "en,tr,de", "-j", "3") == 0

    assert picky_server.probe_calls == 0
    seen = formats(picky_server)
    assert 1 <= seen.count("json_schema") <= 3  # requests already in flight when refused
    assert seen.count("json_object+schema") == 3
    assert manifest(tmp_path)["structured_mode"] == "json_object+schema"
    with Cache(settings.cache.file) as cache:
        assert cache.capability(settings.endpoint.label(), "fake-model") == "json_object+schema"


def test_models_command_probes_and_remembers(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = invoke(capsys, "models")

    assert result.code == 0, result.err
    assert "structured output: json_object+schema" in result.out
    assert "refused: json_schema: HTTP 400" in result.out
    assert "remembered for runs" in result.out
    assert run(capsys, "--lang", "en") == 0
    assert picky_server.probe_calls == 2  # the run used what `digest models` found


def test_index_page_shows_the_structured_mode(
    picky_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--lang", "en") == 0
    assert "json_object+schema" in (tmp_path / "out" / "index.html").read_text("utf-8")


def test_a_server_accepting_json_schema_is_never_downgraded(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "--lang", "en,tr", "-j", "2") == 0

    assert probe_formats(endpoint_env) == ["json_schema"]
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
