"""The pipeline, top to bottom: inputs -> articles -> endpoint -> summaries (cached, gated)
-> Digest -> rendered files. No printing here: the CLI reports what comes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from digest.cache import Cache
from digest.config import Settings
from digest.errors import ExitCode, UsageError
from digest.fsutil import write_json_atomic
from digest.ingest.files import load_inputs
from digest.languages import parse_languages
from digest.llm.endpoint import open_endpoint
from digest.models import Article, BriefResult, Digest, LanguageInfo, StoryResult, Summary, Usage
from digest.output.render import render_digest
from digest.prompts import PromptSpec, load_prompt
from digest.summarize import Progress, Summarizer

Notice = Callable[[str], None]


class RunOutcome(BaseModel):
    digest: Digest
    out_dir: Path
    files: list[Path]
    warnings: list[str]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.PARTIAL if self.digest.withheld_count() else ExitCode.OK


def open_cache(settings: Settings, notice: Notice) -> Cache:
    return Cache(None if settings.no_cache else settings.cache_path, warn=notice)


def run_digest(
    inputs: list[str],
    settings: Settings,
    *,
    stdin: BinaryIO | None = None,
    notice: Notice = lambda _m: None,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunOutcome:
    """`digest run`: everything a user asked for, or a DigestError before anything is written."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    languages = parse_languages(settings.languages)
    prompt = load_prompt(settings.prompt)
    check_out_dir(settings.out)
    loaded = load_inputs(inputs, stdin=stdin, max_tokens=settings.max_article_tokens)
    warnings = list(loaded.warnings)
    for warning in warnings:
        notice(warning)
    timings["load"] = time.monotonic() - started

    with open_endpoint(settings, notice) as llm, open_cache(settings, notice) as cache:
        timings["endpoint_ready"] = time.monotonic() - started
        summarizer = Summarizer.for_run(llm, cache, languages, settings)
        if on_start is not None:
            on_start(len(loaded.articles) * len(languages))
        concurrency = min(settings.concurrency, llm.max_concurrency or settings.concurrency)
        results = summarizer.summarize_all(
            loaded.articles, languages, prompt, concurrency=concurrency, progress=progress
        )
        timings["summarize"] = time.monotonic() - started - timings["endpoint_ready"]
        digest = assemble_digest(
            settings,
            loaded.articles,
            languages,
            results,
            prompt,
            model=llm.model,
            endpoint=llm.endpoint,
            mode=str(llm.mode),
            cache_hits=cache.hits,
        )

    render_started = time.monotonic()
    timings["total"] = render_started - started
    digest = digest.model_copy(update={"warnings": warnings, "timings": _rounded(timings)})
    report = render_digest(digest, settings.out)
    timings["render"] = time.monotonic() - render_started
    timings["total"] = time.monotonic() - started
    digest = digest.model_copy(
        update={"warnings": warnings + report.warnings, "timings": _rounded(timings)}
    )
    # Rewritten so the manifest carries the render time and render warnings too.
    write_json_atomic(settings.out / "manifest.json", digest.manifest())
    return RunOutcome(
        digest=digest, out_dir=settings.out, files=report.files, warnings=digest.warnings
    )


def check_out_dir(out: Path) -> None:
    """Fail before any call is paid for if the outputs could not be written."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")


def assemble_digest(
    settings: Settings,
    articles: list[Article],
    languages: list[LanguageInfo],
    results: list[StoryResult],
    prompt: PromptSpec,
    *,
    model: str,
    endpoint: str,
    mode: str,
    cache_hits: int,
    briefs: list[BriefResult] | None = None,
    edition_date: date | None = None,
) -> Digest:
    paid = [r.usage for r in results if not r.cached] + [
        b.usage for b in briefs or [] if not b.cached
    ]
    return Digest(
        title=settings.title,
        edition_date=edition_date or date.today(),
        generated_at=datetime.now(UTC).replace(microsecond=0),
        languages=languages,
        articles=articles,
        results=results,
        briefs=briefs or [],
        prompt=prompt.ref,
        model=model,
        endpoint=endpoint,
        structured_mode=mode,
        usage=sum(paid, Usage()),
        cache_hits=cache_hits,
    )


def published_summaries(results: list[StoryResult], lang: str) -> list[Summary]:
    return [r.summary for r in results if r.lang == lang and r.status == "published" and r.summary]


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}
