"""`digest daily --batch`: uncached summaries through the (fake) OpenAI Batch API on
127.0.0.1 — complete, partial failure, expiry, no Batch API, and resuming after an
interruption without paying for a second batch."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from support.openai_server import FakeOpenAI, requested_kind
from support.sites import STORIES

from digest.cli import main
from digest.config import Settings, load_settings
from digest.daily import DailyOutcome, run_daily
from digest.llm.batch import STATE_FILE
from digest.sections import CacheSettings, SourceConfig

DAY = date(2025, 3, 14)
SLUGS = ["bridge", "library", "ferry"]
LANGS = ["en", "tr"]
ITEMS = len(SLUGS) * len(LANGS)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for slug in SLUGS:
        story = STORIES[slug]
        (folder / f"{slug}.md").write_text(f"# {story.title}\n\n{story.text}\n", encoding="utf-8")
    return folder


def settings_for(tmp_path: Path, strategy: str = "direct") -> Settings:
    """The batch mechanics are tested with one summary per article and language
    (strategy direct); the pivot strategy's split is tested on its own below."""
    return load_settings({"out": tmp_path / "editions", "languages": LANGS, "strategy": strategy})


def run(
    tmp_path: Path,
    inbox: Path,
    *,
    batch: bool = True,
    sleep: Callable[[float], None] | None = None,
    notes: list[str] | None = None,
    settings: Settings | None = None,
) -> DailyOutcome:
    return run_daily(
        settings or settings_for(tmp_path),
        [SourceConfig(folder=str(inbox))],
        edition_date=DAY,
        batch=batch,
        notice=(notes if notes is not None else []).append,
        sleep=sleep or (lambda _s: None),
    )


def summary_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [
        body for body in fake.requests if requested_kind(body) in ("summary", "summary_evidence")
    ]


def brief_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [body for body in fake.requests if requested_kind(body) == "brief"]


def assert_complete(outcome: DailyOutcome) -> None:
    digest = outcome.digest
    assert len(digest.articles) == len(SLUGS)
    assert len(digest.results) == ITEMS
    assert all(r.status == "published" for r in digest.results)
    assert sorted(b.lang for b in digest.briefs if b.status == "published") == sorted(LANGS)
    assert not (outcome.out_dir / STATE_FILE).exists()


def uploaded_lines(fake: FakeOpenAI) -> list[dict[str, Any]]:
    uploads = [f for f in fake.files.values() if f.purpose == "batch"]
    assert len(uploads) == 1
    return [json.loads(line) for line in uploads[0].content.decode().splitlines()]


def test_complete_batch_answers_every_summary_and_fills_the_cache(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path
) -> None:
    sleeps: list[float] = []
    outcome = run(tmp_path, inbox, sleep=sleeps.append)
    assert_complete(outcome)
    assert endpoint_env.batches_created == 1
    assert len(endpoint_env.batch_requests) == ITEMS
    assert summary_requests(endpoint_env) == []  # no direct summary call
    assert len(brief_requests(endpoint_env)) == len(LANGS)  # briefs stay direct
    assert sleeps == [5.0]  # polled: in progress, then done
    assert outcome.stats.batch_id is not None
    # Batch answers were paid for in this run: counted as calls, not as cache hits (+1: the
    # capability probe before the batch).
    assert outcome.digest.usage.calls == ITEMS + len(LANGS) + 1
    assert outcome.digest.cache_hits == 0

    lines = uploaded_lines(endpoint_env)
    ids = {a.id for a in outcome.digest.articles}
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    assert {line["custom_id"] for line in lines} == {
        f"{article_id}:{lang}:summarize@2" for article_id in ids for lang in LANGS
    }

    # Same day, no --batch: everything comes from the cache the batch filled.
    calls = endpoint_env.chat_calls
    again = run(tmp_path, inbox, batch=False)
    assert_complete(again)
    assert endpoint_env.chat_calls == calls
    assert again.digest.cache_hits == ITEMS + len(LANGS)


def test_batch_lines_carry_the_exact_body_of_a_direct_call(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path
) -> None:
    run(tmp_path, inbox)
    batched = endpoint_env.batch_requests
    direct_settings = settings_for(tmp_path).model_copy(
        update={"cache": CacheSettings(disabled=True)}
    )
    run(tmp_path, inbox, batch=False, settings=direct_settings)
    direct = summary_requests(endpoint_env)
    assert len(direct) == ITEMS

    def canonical(bodies: list[dict[str, Any]]) -> list[str]:
        return sorted(json.dumps(b, sort_keys=True, ensure_ascii=False) for b in bodies)

    assert canonical(batched) == canonical(direct)


def test_failed_lines_are_redone_directly(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path
) -> None:
    endpoint_env.batch_mode = "partial_fail"  # every third line fails
    notes: list[str] = []
    outcome = run(tmp_path, inbox, notes=notes)
    assert_complete(outcome)
    assert endpoint_env.batches_created == 1
    assert len(summary_requests(endpoint_env)) == ITEMS // 3
    assert any(
        f"2 of {ITEMS} request(s) not usable (2 x server_error); asking for them directly" in n
        for n in notes
    ), notes
    assert outcome.digest.usage.calls == ITEMS + len(LANGS) + 1  # + the capability probe


def test_expired_batch_keeps_what_finished_and_asks_for_the_rest(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path
) -> None:
    endpoint_env.batch_mode = "expire"  # the first half is answered
    notes: list[str] = []
    outcome = run(tmp_path, inbox, notes=notes)
    assert_complete(outcome)
    assert len(summary_requests(endpoint_env)) == ITEMS - ITEMS // 2
    assert any("(expired)" in n and "batch_expired" in n for n in notes), notes


def test_endpoint_without_batch_api_falls_back_with_one_note(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path
) -> None:
    endpoint_env.batches_supported = False
    notes: list[str] = []
    outcome = run(tmp_path, inbox, notes=notes)
    assert_complete(outcome)
    assert endpoint_env.batches_created == 0
    assert len(summary_requests(endpoint_env)) == ITEMS
    batch_notes = [n for n in notes if "Batch API" in n]
    assert batch_notes == [
        "the endpoint 127.0.0.1:"
        + endpoint_env.base_url.rsplit(":", 1)[1].split("/")[0]
        + " has no Batch API (HTTP 404 on /v1/files or /v1/batches); using direct calls"
    ]


def test_interrupted_run_resumes_its_batch_instead_of_paying_twice(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path
) -> None:
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, inbox, sleep=interrupt)
    state_file = tmp_path / "editions" / DAY.isoformat() / STATE_FILE
    state = json.loads(state_file.read_text(encoding="utf-8"))
    assert state["batch_id"] in endpoint_env.batches
    assert len(state["custom_ids"]) == ITEMS
    assert endpoint_env.batches_created == 1 and endpoint_env.chat_calls == 0

    notes: list[str] = []
    outcome = run(tmp_path, inbox, notes=notes)
    assert_complete(outcome)
    assert endpoint_env.batches_created == 1  # resumed, not re-submitted
    assert outcome.stats.batch_id == state["batch_id"]
    assert summary_requests(endpoint_env) == []
    assert f"resuming batch {state['batch_id']} from an earlier run" in notes


def test_cli_batch_flag(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_env.batch_polls = 1  # done at the first look: no sleep in this test
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["daily", "--folder", str(inbox), "--batch", "--date", DAY.isoformat()]
            + ["--lang", ",".join(LANGS), "--out", str(tmp_path / "editions")]
        )
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert f"published {ITEMS}, withheld 0" in out and ", batch batch_" in out
    # The default strategy (pivot): the batch holds each article's summary in its own
    # language; the translations rest on those, so they are asked directly afterwards.
    assert endpoint_env.batches_created == 1
    assert {line["custom_id"].split(":")[1] for line in uploaded_lines(endpoint_env)} == {"en"}
    assert len(endpoint_env.batch_requests) == len(SLUGS)
    kinds = [requested_kind(body) for body in endpoint_env.requests]
    assert kinds.count("translation") == len(SLUGS) and "summary_evidence" not in kinds


def test_a_batch_made_useless_by_a_direct_run_is_cancelled_not_awaited(
    endpoint_env: FakeOpenAI, inbox: Path, tmp_path: Path
) -> None:
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, inbox, sleep=interrupt)
    notes: list[str] = []
    run(tmp_path, inbox, batch=False, notes=notes)  # pays directly, says a batch is waiting
    assert len(summary_requests(endpoint_env)) == ITEMS
    assert any("unfinished batch" in n and "--batch" in n for n in notes), notes

    calls = endpoint_env.chat_calls
    notes.clear()
    outcome = run(tmp_path, inbox, notes=notes)
    assert_complete(outcome)
    assert endpoint_env.chat_calls == calls and endpoint_env.batches_created == 1
    (job,) = endpoint_env.batches.values()
    assert job.status == "cancelling"
    assert any("no longer needed" in n for n in notes), notes
