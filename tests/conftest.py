"""Shared fixtures: every test runs with its own cache/config dirs and no OpenAI env vars,
and a real OpenAI-compatible server on 127.0.0.1 when it asks for one."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.openai_server import FakeOpenAI  # noqa: E402

LOCAL_MODEL_OPT_IN = "DIGEST_LOCAL_MODEL_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The real embedded-model tests take minutes: CI (CI=true) always runs them, a local
    ``pytest`` only when DIGEST_LOCAL_MODEL_TESTS=1 (README, Development)."""
    if os.environ.get("CI") == "true" or os.environ.get(LOCAL_MODEL_OPT_IN) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"slow local-model test: set {LOCAL_MODEL_OPT_IN}=1 (CI runs it)"
    )
    for item in items:
        if "local_model" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "DIGEST_", "AZURE_OPENAI")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIGEST_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("DIGEST_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def endpoint_env(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """Point the real openai client at the loopback server the way a user would: env vars."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789")
    monkeypatch.setenv("DIGEST_MODEL", "fake-model")
    return fake_openai
