"""`digest daily`: the day's sources (feeds, URL lists, folders) -> one dated edition.

Top to bottom: read every source (a bad feed or page is a warning, never fatal) ->
candidate articles -> time window, dedupe, rank, limit, sections (``digest.ingest.stories``) ->
summaries in every language (optionally through the Batch API first, ``digest.llm.batch``)
-> one "in brief" overview per language -> ``OUT/<YYYY-MM-DD>/``. Everything paid for is
cached, so a re-run the same day costs no LLM call and rewrites the edition in place;
other days' folders are never touched. No printing here: the CLI reports what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from digest.config import Settings, SourceConfig
from digest.errors import ExitCode, FeedError, FetchError, InputError, UsageError
from digest.fsutil import read_capped, write_json_atomic
from digest.ingest.cleaning import one_line
from digest.ingest.feeds import parse_feed
from digest.ingest.fetch import fetch, is_http_url, make_http_client
from digest.ingest.files import article_from_html, load_inputs, make_article
from digest.ingest.stories import (
    Candidate,
    Story,
    Window,
    make_window,
    normalize_url,
    select_stories,
    without_tracking,
)
from digest.languages import parse_languages
from digest.llm.batch import STATE_FILE, BatchOutcome, BatchRunner
from digest.llm.client import make_openai_client
from digest.llm.endpoint import open_endpoint
from digest.models import Article, BriefResult, Digest, LanguageInfo, StoryResult
from digest.output.render import render_digest
from digest.pipeline import assemble_digest, open_cache, published_summaries
from digest.prompts import PromptSpec, load_prompt
from digest.summarize import Progress, Summarizer

Notice = Callable[[str], None]
MIN_FALLBACK_WORDS = 80  # a feed's own text shorter than this is a teaser, not an article
FETCH_WORKERS = 8


class DailyStats(BaseModel):
    found: int = 0  # stories seen in the sources (feed entries, URLs, files)
    kept: int = 0
    duplicates: int = 0
    outside_window: int = 0
    over_limit: int = 0
    skipped: int = 0  # feeds, pages and folders that gave nothing (see warnings)
    batch_id: str | None = None


class DailyOutcome(BaseModel):
    digest: Digest
    out_dir: Path
    files: list[Path]
    warnings: list[str]
    stats: DailyStats

    @property
    def exit_code(self) -> ExitCode:
        partial = self.digest.withheld_count() or self.stats.skipped
        return ExitCode.PARTIAL if partial else ExitCode.OK


class Lead(BaseModel):
    """A story to fetch (a feed entry or a listed URL), before its page is read."""

    url: str | None
    title: str | None = None
    published: datetime | None = None
    section: str | None = None
    fallback: str = ""  # the feed entry's own text
    origins: list[str]


class Gathered(BaseModel):
    candidates: list[Candidate] = []
    warnings: list[str] = []
    found: int = 0
    skipped: int = 0
    outside_window: int = 0
    duplicates: int = 0


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
    prompt, brief_spec = load_prompt(settings.prompt), load_prompt(settings.brief_prompt)
    now = (now or datetime.now()).astimezone()
    day = edition_date or now.date()
    window = make_window(settings.since, now=now, day=edition_date)
    out_dir = settings.out / day.isoformat()

    client = http if http is not None else make_http_client()
    try:
        gathered = gather(sources, client, window, settings.max_article_tokens, notice)
    finally:
        if http is None:
            client.close()
    selection = select_stories(gathered.candidates, window, limit=settings.max_stories, now=now)
    articles = [s.article for s in selection.stories]
    stats = DailyStats(
        found=gathered.found,
        kept=len(articles),
        duplicates=gathered.duplicates + selection.duplicates,
        outside_window=gathered.outside_window + selection.outside_window,
        over_limit=selection.over_limit,
        skipped=gathered.skipped,
    )
    timings = {"gather": time.monotonic() - started}
    warnings = list(gathered.warnings)

    def note(message: str) -> None:
        warnings.append(message)
        notice(message)

    if articles:
        digest, batch_id = _summarize(
            settings,
            articles,
            languages,
            (prompt, brief_spec),
            day,
            batch=batch,
            notice=note,
            sleep=sleep,
            progress=progress,
            on_start=on_start,
            state_path=out_dir / STATE_FILE,
        )
        stats.batch_id = batch_id
    else:
        note("no stories in the window; the edition is empty")
        digest = assemble_digest(
            settings,
            [],
            languages,
            [],
            prompt,
            model=settings.model or "-",
            endpoint=settings.endpoint_label(),
            mode="",
            cache_hits=0,
            edition_date=day,
        )
    timings["summarize"] = time.monotonic() - started - timings["gather"]

    render_started = time.monotonic()
    report = render_digest(digest.model_copy(update={"warnings": warnings}), out_dir)
    timings["render"] = time.monotonic() - render_started
    timings["total"] = time.monotonic() - started
    warnings += report.warnings
    digest = digest.model_copy(
        update={"warnings": warnings, "timings": {k: round(v, 3) for k, v in timings.items()}}
    )
    write_json_atomic(out_dir / "manifest.json", digest.manifest())
    stories_file = write_json_atomic(out_dir / "stories.json", _story_records(selection.stories))
    return DailyOutcome(
        digest=digest,
        out_dir=out_dir,
        files=[*report.files, stories_file],
        warnings=warnings,
        stats=stats,
    )


# --- sources ------------------------------------------------------------------------------


def resolve_source_paths(sources: list[SourceConfig], base: Path) -> list[SourceConfig]:
    """Feed files and folders named in a config file, as absolute paths: a relative one is
    taken from the file's own folder (``base``), so ``--config elsewhere/digest.toml`` works
    from any directory (paths given as flags stay relative to the working directory).
    URLs are left alone; ``~`` is expanded."""

    def resolve(location: str) -> str:
        return str((base / Path(location).expanduser()).resolve())

    return [
        source.model_copy(
            update={
                "feed": resolve(source.feed)
                if source.feed and not is_http_url(source.feed)
                else source.feed,
                "folder": resolve(source.folder) if source.folder else None,
            }
        )
        for source in sources
    ]


def gather(
    sources: list[SourceConfig],
    client: httpx.Client,
    window: Window,
    max_tokens: int,
    notice: Notice = lambda _m: None,
) -> Gathered:
    """Candidates from every source, in source order. Feed entries outside the window are
    not fetched, and the same URL from two sources is fetched once (both are recorded)."""
    out = Gathered()

    def warn(message: str, *, skipped: bool = False) -> None:
        out.warnings.append(message)
        out.skipped += skipped
        notice(message)

    leads: list[Lead] = []
    by_url: dict[str, Lead] = {}

    def add(lead: Lead) -> None:
        out.found += 1
        if not window.contains(lead.published):
            out.outside_window += 1
            return
        key = normalize_url(lead.url) if lead.url else None
        first = by_url.get(key) if key else None
        if first is None:
            leads.append(lead)
            if key:
                by_url[key] = lead
            return
        out.duplicates += 1
        first.origins += [o for o in lead.origins if o not in first.origins]
        first.published = first.published or lead.published
        first.section = first.section or lead.section
        if len(lead.fallback) > len(first.fallback):
            first.fallback = lead.fallback

    for source in sources:
        if source.feed:
            for lead in _feed_leads(source, client, warn):
                add(lead)
        for url in source.urls:
            host = urlsplit(url).hostname or url
            add(Lead(url=url, section=source.section, origins=[f"site:{host.lower()}"]))
        if source.folder:
            _folder_candidates(source, max_tokens, out, warn)

    with ThreadPoolExecutor(max_workers=FETCH_WORKERS, thread_name_prefix="digest-fetch") as pool:
        read = list(pool.map(lambda lead: _read_lead(lead, client, max_tokens), leads))
    for candidate, message, skipped in read:
        if message:
            warn(message, skipped=skipped)
        if candidate is not None:
            out.candidates.append(candidate)
    return out


def _feed_leads(
    source: SourceConfig, client: httpx.Client, warn: Callable[..., None]
) -> list[Lead]:
    location = str(source.feed)
    try:
        if is_http_url(location):
            fetched = fetch(client, location, kind="feed")
            feed = parse_feed(
                fetched.content, source=fetched.url, content_type=fetched.content_type
            )
        else:
            feed = parse_feed(read_capped(Path(location)), source=location)
    except (FetchError, FeedError, InputError) as exc:
        warn(f"feed {exc.message} (skipped)", skipped=True)
        return []
    if not feed.entries:
        warn(f"feed {location}: no entries")
    origin = f"feed:{location}"
    return [
        Lead(
            # feedparser copies an Atom <id> (tag:, urn:) or an RSS <guid> into the link
            # when the entry has none: only an http(s) link is a page to fetch and to show.
            url=entry.link if entry.link and is_http_url(entry.link) else None,
            title=entry.title or None,
            published=entry.published,
            section=source.section or entry.category,
            fallback=entry.text,
            origins=[origin],
        )
        for entry in feed.entries
    ]


def _folder_candidates(
    source: SourceConfig, max_tokens: int, out: Gathered, warn: Callable[..., None]
) -> None:
    folder = str(source.folder)
    if not Path(folder).is_dir():
        warn(f"folder {folder}: not found (skipped)", skipped=True)
        return
    try:
        loaded = load_inputs([folder], max_tokens=max_tokens)
    except InputError as exc:
        warn(f"folder {exc.message} (skipped)", skipped=True)
        return
    for message in loaded.warnings:
        warn(message)
    for article in loaded.articles:
        out.found += 1
        if source.section:
            article = article.model_copy(update={"section": source.section})
        out.candidates.append(Candidate(article=article, origins=[f"folder:{folder}"]))


def _read_lead(
    lead: Lead, client: httpx.Client, max_tokens: int
) -> tuple[Candidate | None, str | None, bool]:
    """(candidate, warning, skipped): the page's main text, else the feed's own text."""
    problem = f"{lead.title or 'a feed entry'}: no link"
    if lead.url:
        try:
            page = fetch(client, lead.url, kind="page")
            article = article_from_html(
                page.content,
                url=without_tracking(page.url),
                source=lead.url,
                section=lead.section,
                max_tokens=max_tokens,
            )
            update: dict[str, object] = {"published": lead.published or article.published}
            if lead.title:
                update["title"] = one_line(lead.title)
            return (
                Candidate(article=article.model_copy(update=update), origins=lead.origins),
                None,
                False,
            )
        except FetchError as exc:
            problem = exc.message
        except InputError as exc:
            problem = exc.message
    label = lead.url or lead.title or "feed entry"
    if len(lead.fallback.split()) >= MIN_FALLBACK_WORDS:
        try:
            article = make_article(
                lead.fallback,
                title=lead.title,
                url=without_tracking(lead.url) if lead.url else None,
                published=lead.published,
                source=label,
                section=lead.section,
                max_tokens=max_tokens,
            )
        except InputError:
            pass
        else:
            # An entry without a link that carries its full text lost nothing: no warning.
            message = f"{problem}; used the feed's own text instead" if lead.url else None
            return Candidate(article=article, origins=lead.origins), message, False
    return None, f"{problem} (skipped)", True


# --- summaries ----------------------------------------------------------------------------


def _summarize(
    settings: Settings,
    articles: list[Article],
    languages: list[LanguageInfo],
    specs: tuple[PromptSpec, PromptSpec],
    day: date,
    *,
    batch: bool,
    notice: Notice,
    sleep: Callable[[float], None],
    progress: Progress | None,
    on_start: Callable[[int], None] | None,
    state_path: Path,
) -> tuple[Digest, str | None]:
    prompt, brief_spec = specs
    with open_endpoint(settings, notice) as llm, open_cache(settings, notice) as cache:
        summarizer = Summarizer.for_run(llm, cache, languages, settings)
        outcome = BatchOutcome()
        if not batch and state_path.exists():
            notice(f"an unfinished batch ({state_path}) is waiting; run with --batch to collect it")
        if batch:
            outcome = _run_batch(
                settings, summarizer, articles, languages, prompt, state_path, notice, sleep
            )
        if on_start is not None:
            on_start(len(articles) * len(languages))
        concurrency = min(settings.concurrency, llm.max_concurrency or settings.concurrency)
        results = summarizer.summarize_all(
            articles, languages, prompt, concurrency=concurrency, progress=progress
        )
        results = _mark_batch_answers(results, outcome, prompt)
        briefs = _briefs(summarizer, results, languages, brief_spec, day, concurrency)
        digest = assemble_digest(
            settings,
            articles,
            languages,
            results,
            prompt,
            model=llm.model,
            endpoint=llm.endpoint,
            mode=str(llm.mode),
            cache_hits=sum(r.cached for r in results) + sum(b.cached for b in briefs),
            briefs=briefs,
            edition_date=day,
        )
    if outcome.unused_usage.calls:
        digest = digest.model_copy(update={"usage": digest.usage + outcome.unused_usage})
    return digest, outcome.batch_id


def _run_batch(
    settings: Settings,
    summarizer: Summarizer,
    articles: list[Article],
    languages: list[LanguageInfo],
    prompt: PromptSpec,
    state_path: Path,
    notice: Notice,
    sleep: Callable[[float], None],
) -> BatchOutcome:
    if settings.uses_local_model:
        notice("the embedded local model has no Batch API; using direct calls")
        return BatchOutcome()
    if not summarizer.cache.enabled:
        notice("--batch hands its answers over through the cache, which is off; using direct calls")
        return BatchOutcome()
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    with make_openai_client(settings.base_url, api_key, settings.timeout) as client:
        runner = BatchRunner(client, summarizer, state_path=state_path, notice=notice, sleep=sleep)
        return runner.run(articles, languages, prompt)


def _mark_batch_answers(
    results: list[StoryResult], outcome: BatchOutcome, prompt: PromptSpec
) -> list[StoryResult]:
    """Batch answers come back through the cache, but they were paid for in this run."""
    answered = set(outcome.answered)
    return [
        r.model_copy(update={"cached": False})
        if r.cached and f"{r.article_id}:{r.lang}:{prompt.ref}" in answered
        else r
        for r in results
    ]


def _briefs(
    summarizer: Summarizer,
    results: list[StoryResult],
    languages: list[LanguageInfo],
    spec: PromptSpec,
    day: date,
    concurrency: int,
) -> list[BriefResult]:
    """One overview per language that has a published summary; none is written from nothing."""
    todo = [(lang, published_summaries(results, lang.code)) for lang in languages]
    todo = [(lang, stories) for lang, stories in todo if stories]
    if not todo:
        return []
    with ThreadPoolExecutor(max_workers=min(concurrency, len(todo))) as pool:
        futures = [
            pool.submit(summarizer.brief_one, stories, lang, spec, day.isoformat())
            for lang, stories in todo
        ]
        return [future.result() for future in futures]


def _story_records(stories: list[Story]) -> list[dict[str, object]]:
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
