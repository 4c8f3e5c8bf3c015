"""`digest daily`: the day's sources (feeds, URL lists, folders) -> one dated edition.

Top to bottom: read every source (``digest.ingest.gather``: a bad feed or page is a
warning, never fatal) -> time window, dedupe, rank, limit, sections
(``digest.ingest.stories``) -> the edition (``digest.edition``: summaries in every
language, optionally through the Batch API first, and an "in brief" overview per
language) -> ``OUT/<YYYY-MM-DD>/`` with ``stories.json``, carrying the corrections made
to earlier days' editions under OUT (``digest.corrections``). Everything paid for is cached, so
a re-run the same day costs no LLM call and rewrites the edition in place; other days'
folders are never touched. No printing here: the CLI reports what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime

import httpx
from pydantic import BaseModel

from digest.config import Settings, SourceConfig
from digest.edition import (
    EditionOutcome,
    EditionPlan,
    batch_state_path,
    load_specs,
    summarise_edition,
    write_edition,
)
from digest.errors import ExitCode, UsageError
from digest.ingest.fetch import make_http_client
from digest.ingest.gather import gather
from digest.ingest.stories import Story, make_window, select_stories
from digest.languages import parse_languages
from digest.prompts import load_prompt
from digest.summarize import Progress

Notice = Callable[[str], None]
STORIES_FILE = "stories.json"


class DailyStats(BaseModel):
    found: int = 0  # stories seen in the sources (feed entries, URLs, files)
    kept: int = 0
    duplicates: int = 0
    outside_window: int = 0
    over_limit: int = 0
    skipped: int = 0  # feeds, pages and folders that gave nothing (see warnings)
    batch_id: str | None = None


class DailyOutcome(EditionOutcome):
    stats: DailyStats

    @property
    def exit_code(self) -> ExitCode:
        partial = self.digest.withheld_count() or self.digest.fallback_count() or self.stats.skipped
        return ExitCode.PARTIAL if partial else ExitCode.OK


def run_daily(
    settings: Settings,
    sources: list[SourceConfig],
    *,
    edition_date: date | None = None,
    batch: bool = False,
    notice: Notice = lambda _m: None,
    http: httpx.Client | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> DailyOutcome:
    """Build and render the edition; raises a DigestError only for usage or endpoint trouble."""
    started = time.monotonic()
    if not sources:
        raise UsageError(
            "no sources: add [[sources]] to the config or pass --feed, --url or --folder"
        )
    languages = parse_languages(settings.languages)
    specs = load_specs(settings)
    brief = load_prompt(settings.brief_prompt)
    now = (now or datetime.now()).astimezone()
    day = edition_date or now.date()
    window = make_window(settings.daily.since, now=now, day=edition_date)
    out_dir = settings.out / day.isoformat()

    client = http if http is not None else make_http_client()
    try:
        gathered = gather(sources, client, window, settings.max_article_tokens, notice)
    finally:
        if http is None:
            client.close()
    selection = select_stories(
        gathered.candidates, window, limit=settings.daily.max_stories, now=now
    )
    stats = DailyStats(
        found=gathered.found,
        kept=len(selection.stories),
        duplicates=gathered.duplicates + selection.duplicates,
        outside_window=gathered.outside_window + selection.outside_window,
        over_limit=selection.over_limit,
        skipped=gathered.skipped,
    )
    gathered_at = time.monotonic() - started
    warnings = list(gathered.warnings)

    def note(message: str) -> None:
        warnings.append(message)
        notice(message)

    state = batch_state_path(out_dir)
    if not batch and state.exists():
        note(f"an unfinished batch ({state}) is waiting; run with --batch to collect it")
    if not selection.stories:
        note("no stories in the window; the edition is empty")
    plan = EditionPlan(
        articles=[s.article for s in selection.stories],
        languages=languages,
        prompt=specs.prompt,
        translate=specs.translate,
        verify=specs.verify,
        brief=brief,
        edition_date=day,
        batch_state=state if batch else None,
    )
    digest = summarise_edition(
        plan, settings, notice=note, progress=progress, on_start=on_start, sleep=sleep
    )
    digest.warnings = [*warnings, *digest.warnings]
    digest.timings = {"gather": round(gathered_at, 3), **digest.timings}
    outcome = write_edition(
        digest,
        out_dir,
        started=started,
        extra={STORIES_FILE: story_records(selection.stories)},
        editions=settings.out,  # earlier days' corrections are carried in this one
    )
    stats.batch_id = digest.batch_id
    return DailyOutcome(**outcome.model_dump(), stats=stats)


def story_records(stories: list[Story]) -> list[dict[str, object]]:
    """stories.json: why each story is in the edition (rank inputs), in edition order."""
    return [
        {
            "id": s.article.id,
            "title": s.article.title,
            "url": s.article.url,
            "section": s.article.section,
            "published": s.article.published.isoformat() if s.article.published else None,
            "sources_count": s.sources_count,
            "sources": s.origins,
            "score": s.score,
        }
        for s in stories
    ]
