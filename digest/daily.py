"""`digest daily`: the day's sources (feeds, URL lists, folders) -> one dated edition.

Top to bottom: read every source (``digest.ingest.gather``: a bad feed or page is a
warning, never fatal; feeds and pages fetched conditionally, a few at once per host) ->
stories (``digest.daily_stories``: time window, dedupe, events across outlets and
languages, updates of earlier editions' stories, rank, limit, sections) -> the edition
(``digest.edition``: summaries in every language, a story of several sources from all of
them, optionally through the Batch API first, and an "in brief" overview per language) ->
``OUT/<YYYY-MM-DD>/`` with ``stories.json``, carrying the corrections made to earlier
days' editions under OUT (``digest.corrections``). Everything paid for is cached, so a
re-run the same day costs no LLM call and rewrites the edition in place; other days'
folders are never touched. No printing here: the CLI reports what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime

import httpx
from pydantic import BaseModel

from digest.config import Settings
from digest.daily_stories import StoryPlan, plan_stories
from digest.edition import (
    EditionOutcome,
    EditionPlan,
    batch_state_path,
    load_specs,
    summarise_edition,
    write_edition,
)
from digest.errors import ExitCode, UsageError
from digest.ingest.conditional import ConditionalStore
from digest.ingest.fetch import HostLimits, make_http_client
from digest.ingest.gather import gather
from digest.ingest.stories import make_window
from digest.languages import parse_languages
from digest.prompts import load_prompt
from digest.sections import SourceConfig
from digest.summarize import Progress

Notice = Callable[[str], None]
STORIES_FILE = "stories.json"


class DailyStats(BaseModel):
    found: int = 0  # articles seen in the sources (feed entries, URLs, files)
    kept: int = 0  # stories in the edition
    duplicates: int = 0
    merged: int = 0  # articles told as part of another article's story
    outside_window: int = 0
    over_limit: int = 0
    repeats: int = 0  # stories an earlier edition told, with nothing new: left out
    updates: int = 0  # stories continuing an earlier edition's
    skipped: int = 0  # feeds, pages and folders that gave nothing (see warnings)
    requests: int = 0  # HTTP requests for feeds and pages
    not_modified: int = 0  # of those, answered 304: the stored copy was used
    method: str = "lexical"  # how articles were grouped into stories
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
    story_prompt = load_prompt(settings.daily.story_prompt)
    now = (now or datetime.now()).astimezone()
    day = edition_date or now.date()
    window = make_window(settings.daily.since, now=now, day=edition_date)
    out_dir = settings.out / day.isoformat()

    daily = settings.daily
    store = ConditionalStore.beside(settings.out) if daily.conditional_get else None
    limits = HostLimits(daily.per_host, daily.fetch_concurrency)
    client = http if http is not None else make_http_client()
    try:
        gathered = gather(
            sources, client, window, settings.max_article_tokens, notice, store=store, limits=limits
        )
    finally:
        if http is None:
            client.close()
    gathered_at = time.monotonic() - started
    stories = plan_stories(
        gathered.candidates,
        gathered.feed_titles,
        settings,
        window,
        now=now,
        day=day,
        languages=[lang.base for lang in languages],
        notice=notice,
    )
    counts = stories.counts
    stats = DailyStats(
        found=gathered.found,
        kept=len(stories.articles),
        duplicates=gathered.duplicates + counts.duplicates,
        merged=counts.merged,
        outside_window=gathered.outside_window + counts.outside_window,
        over_limit=counts.over_limit,
        repeats=counts.repeats,
        updates=counts.updates,
        skipped=gathered.skipped,
        requests=gathered.requests,
        not_modified=gathered.not_modified,
        method=stories.clustering.method,
    )
    storied_at = time.monotonic() - started - gathered_at
    warnings = [*gathered.warnings, *stories.warnings]

    def note(message: str) -> None:
        warnings.append(message)
        notice(message)

    state = batch_state_path(out_dir)
    if not batch and state.exists():
        note(f"an unfinished batch ({state}) is waiting; run with --batch to collect it")
    if not stories.articles:
        note("no stories in the window; the edition is empty")
    plan = EditionPlan(
        articles=stories.articles,
        languages=languages,
        prompt=specs.prompt,
        translate=specs.translate,
        verify=specs.verify,
        brief=brief,
        edition_date=day,
        batch_state=state if batch else None,
        story_prompt=story_prompt,
    )
    digest = summarise_edition(
        plan, settings, notice=note, progress=progress, on_start=on_start, sleep=sleep
    )
    digest.warnings = [*warnings, *digest.warnings]
    digest.timings = {
        "gather": round(gathered_at, 3),
        "stories": round(storied_at, 3),
        **digest.timings,
    }
    digest.stories = stories.infos
    digest.clustering = stories.clustering
    digest.usage = digest.usage + stories.usage
    outcome = write_edition(
        digest,
        out_dir,
        started=started,
        extra={STORIES_FILE: story_record(day, stories)},
        editions=settings.out,  # earlier days' corrections are carried in this one
    )
    stats.batch_id = digest.batch_id
    return DailyOutcome(**outcome.model_dump(), stats=stats)


def story_record(day: date, stories: StoryPlan) -> dict[str, object]:
    """stories.json: how articles became stories, and each story in edition order: its
    sources (outlet, link or file, the start of its text), rank inputs, disagreements and
    the earlier story it updates."""
    return {
        "edition_date": day.isoformat(),
        "clustering": stories.clustering.model_dump(mode="json"),
        "stories": stories.records,
    }
