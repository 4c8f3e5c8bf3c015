"""Pacing: rate-limit headers read, concurrency adapted (AIMD), so an edition runs close to
an account's limit without a storm of 429s. Unit tests of the parsers and the limiter, and
runs against the loopback server with a requests/tokens-per-minute limit."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from support.cli import invoke
from support.openai_server import FakeOpenAI, RateLimit, go_duration
from support.paths import SEED

from digest.llm.pacing import Pacer, parse_duration, retry_after

LANGS = "en,tr,ar,de,fr,es,it,nl"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("2", 2.0),
        ("soon", None),
        ("5x", None),
        (None, None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_go_duration_round_trips() -> None:
    for seconds in (0.02, 1.5, 59.0, 360.0, 3725.25):
        assert parse_duration(go_duration(seconds)) == pytest.approx(seconds, abs=0.001)


def test_retry_after_prefers_milliseconds_and_reads_dates() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry_after({"retry-after": "3"}) == 3.0
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after({"retry-after": when}) or 0) <= 30
    assert retry_after({}) is None


def test_aimd_halves_once_per_round_and_grows_back() -> None:
    pacer = Pacer(8)
    tickets = [pacer.acquire(100) for _ in range(8)]
    assert all(t is not None for t in tickets)
    first, second, *rest = [t for t in tickets if t is not None]
    pacer.release(first, outcome="429")
    assert pacer.limit == 4
    pacer.release(second, outcome="429")  # sent before the cut: no second cut
    assert pacer.limit == 4 and pacer.rate_limited == 2
    for ticket in rest:
        pacer.release(ticket, outcome="ok")
    assert 5 < pacer.limit < 6  # +1/limit per success


def test_headers_hold_the_next_request_until_it_fits() -> None:
    pacer = Pacer(4)
    ticket = pacer.acquire(10)
    assert ticket is not None
    # 120 requests a minute (2 a second), none left now: the next fits in half a second.
    headers = {
        "x-ratelimit-limit-requests": "120",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "500ms",
    }
    pacer.release(ticket, headers=headers, outcome="ok")
    started = time.monotonic()
    assert pacer.acquire(10) is not None
    assert 0.35 <= time.monotonic() - started <= 1.0


def test_a_cancelled_run_stops_waiting() -> None:
    pacer = Pacer(1)
    assert pacer.acquire(1) is not None
    cancelled = threading.Event()
    threading.Timer(0.2, cancelled.set).start()
    assert pacer.acquire(1, cancelled) is None


def run(capsys: pytest.CaptureFixture[str], server: FakeOpenAI, *extra: str) -> int:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_BASE_URL", server.base_url)
        env.setenv("OPENAI_API_KEY", "sk-test-SECRET-0123456789")
        env.setenv("DIGEST_MODEL", "fake-model")
        result = invoke(capsys, "run", str(SEED), "--lang", LANGS, "--out", "out", *extra)
    assert "Traceback" not in result.err
    return result.code


def test_rate_limit_headers_pace_the_run_without_a_storm_of_429s(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with FakeOpenAI(latency=0.02) as server:
        # 10 requests a second, two at once: eight workers sent together would be refused
        # six times; read from the headers (the probe's first), the limit is kept.
        server.rate_limit = RateLimit(rpm=600, tpm=10**9, burst_requests=2)
        started = time.monotonic()
        assert run(capsys, server, "-j", "8") == 0
        wall = time.monotonic() - started
        refused = server.rate_limit.refused
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    assert [r["status"] for r in manifest["results"]] == ["published"] * 8
    assert refused <= 2  # (1 in practice; the fixed pacer of before: 10)
    assert wall >= 0.6  # 9 requests (8 + the probe) at 10 a second after a burst of 2


def test_429s_without_headers_shrink_concurrency_and_never_end_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with FakeOpenAI(latency=0.05) as server:
        server.rate_limit = RateLimit(rpm=1200, tpm=10**9, burst_requests=3)
        # A server that sends no rate-limit headers, only 429 + Retry-After.
        admit = server.rate_limit.admit

        def without_headers(body: dict[str, object]) -> tuple[bool, dict[str, str]]:
            ok, headers = admit(body)
            return ok, {k: v for k, v in headers.items() if k.startswith("retry-after")}

        server.rate_limit.admit = without_headers  # type: ignore[method-assign]
        assert run(capsys, server, "-j", "8", "--max-tokens", "1000000") == 0
        refused = server.rate_limit.refused
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    assert [r["status"] for r in manifest["results"]] == ["published"] * 8
    assert 1 <= refused <= 12  # a first wave is refused, then the limiter backs off
