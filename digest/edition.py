"""One edition, whoever gathered its articles: summarise it, then write it.

``run`` and ``daily`` differ only in how they gather articles; both end here:

    summarise_edition   endpoint + cache -> the JSON mode settled (remembered or probed)
                        -> (Batch API first, if asked) -> every article x language by the
                        strategy (pivot or direct), asked, checked, cached, with its floors
                        -> "in brief" per language -> one ``Digest``
    write_edition       desk.json (article texts and the model's answers, for the editor),
                        the editor's decisions (review.json) applied, corrections to earlier
                        editions carried (daily), Markdown, email HTML and text per language,
                        index.html, extra files (stories.json), Atom and JSON feeds per
                        language, and last of all manifest.json

No printing here: the CLI reports what comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import BaseModel

from digest.budget import Budget
from digest.cache import Cache
from digest.checks import Gate
from digest.config import Settings
from digest.corrections import mark_carried, pending
from digest.desk import write_desk
from digest.errors import ExitCode
from digest.fsutil import write_json_atomic
from digest.llm.batch import STATE_FILE, BatchOutcome, BatchRunner
from digest.llm.client import LLMClient
from digest.llm.endpoint import open_endpoint
from digest.llm.probe import settle_mode
from digest.manifest import Manifest
from digest.models import Article, Digest, LanguageInfo, StoryArticle, StoryResult
from digest.output.feeds import write_edition_feeds
from digest.output.render import render_digest
from digest.prompts import PromptSpec, load_prompt
from digest.review import apply, load_record
from digest.sections import CacheSettings
from digest.strategy import Strategy, own_language, summarise
from digest.summarize import Progress, Summarizer

Notice = Callable[[str], None]


class EditionPlan(BaseModel):
    """What to summarise: the gathered articles, in edition order, and how."""

    articles: list[Article]
    languages: list[LanguageInfo]
    prompt: PromptSpec
    translate: PromptSpec | None = None  # strategy "pivot"
    verify: PromptSpec | None = None  # the verifier pass, when asked for
    brief: PromptSpec | None = None  # the "in brief" overview (daily), or none
    edition_date: date
    batch_state: Path | None = None  # Batch API first (daily --batch), resumable from here
    story_prompt: PromptSpec | None = None  # daily: stories told by several sources

    def prompt_for(self, article: Article) -> PromptSpec:
        if self.story_prompt is not None and isinstance(article, StoryArticle):
            return self.story_prompt
        return self.prompt


class EditionOutcome(BaseModel):
    digest: Digest
    out_dir: Path
    files: list[Path]
    warnings: list[str]

    @property
    def exit_code(self) -> ExitCode:
        partial = self.digest.withheld_count() or self.digest.fallback_count()
        return ExitCode.PARTIAL if partial else ExitCode.OK


class Specs(BaseModel):
    """The prompts an edition runs on."""

    prompt: PromptSpec
    translate: PromptSpec | None
    verify: PromptSpec | None


def load_specs(settings: Settings) -> Specs:
    """The prompts an edition runs on, loaded (and so checked) before anything is paid for."""
    pivot = settings.strategy == "pivot"
    return Specs(
        prompt=load_prompt(settings.prompt),
        translate=load_prompt(settings.translate_prompt) if pivot else None,
        verify=load_prompt(settings.verify_prompt) if settings.verify else None,
    )


def open_cache(settings: CacheSettings, notice: Notice) -> Cache:
    return Cache(settings.location, warn=notice)


def summarise_edition(
    plan: EditionPlan,
    settings: Settings,
    *,
    notice: Notice = lambda _m: None,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Digest:
    """Every article in every language, asked (or read from the cache) and checked."""
    started = time.monotonic()
    if not plan.articles:
        return _digest(plan, settings, [], model=settings.endpoint.model or "-", mode="")
    with (
        open_endpoint(settings.endpoint, notice) as llm,
        open_cache(settings.cache, notice) as cache,
    ):
        summarizer = Summarizer(
            llm,
            cache,
            Gate(plan.languages),
            reasks=settings.reasks,
            budget=Budget.for_model(settings.budget, llm.model),
            retry_withheld=settings.cache.retry_withheld,
        )
        # Once, before anything fans out: a passing error of one task never decides it.
        capability = settle_mode(llm, cache)
        for refusal in capability.refused:
            notice(f"the endpoint refused {refusal}; using {capability.mode} (remembered)")
        batch = _batch_first(plan, settings, llm, summarizer, notice, sleep)
        if on_start is not None:
            on_start(len(plan.articles) * len(plan.languages))
        concurrency = min(settings.endpoint.concurrency, llm.max_concurrency or 256)
        results, pivots = summarise(
            summarizer,
            _strategy(plan, settings),
            plan.articles,
            plan.languages,
            concurrency=concurrency,
            progress=progress,
        )
        results = _paid_by_batch(results, batch, plan)
        pivots = _paid_by_batch(pivots, batch, plan)
        digest = _digest(plan, settings, results, model=llm.model, mode=str(llm.mode))
        digest.pivots = pivots
        digest.structured_mode_source = llm.mode_source
        digest.endpoint = llm.endpoint
        if plan.brief is not None:
            digest.briefs = summarizer.brief_all(
                results,
                plan.languages,
                plan.brief,
                plan.edition_date.isoformat(),
                concurrency=concurrency,
            )
    paid = [r.usage for r in [*digest.results, *digest.pivots] if not r.cached]
    paid += [b.usage for b in digest.briefs if not b.cached]
    digest.usage = sum(paid, batch.unused_usage + capability.usage)
    digest.batch_id = batch.batch_id
    digest.cache_hits = sum(r.cached for r in digest.results) + sum(b.cached for b in digest.briefs)
    digest.timings["summarize"] = round(time.monotonic() - started, 3)
    return digest


def _digest(
    plan: EditionPlan, settings: Settings, results: list[StoryResult], *, model: str, mode: str
) -> Digest:
    return Digest(
        title=settings.title,
        titles=settings.titles,
        colophon=settings.colophon,
        evidence=settings.evidence,
        site_url=settings.site_url,
        edition_date=plan.edition_date,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        languages=plan.languages,
        articles=plan.articles,
        results=results,
        prompt=plan.prompt.ref,
        model=model,
        endpoint=settings.endpoint.label(),
        structured_mode=mode,
    )


def _strategy(plan: EditionPlan, settings: Settings) -> Strategy:
    return Strategy(
        name=settings.strategy,
        prompt=plan.prompt,
        translate=plan.translate,
        verify=plan.verify,
        extract_fallback=settings.extract_fallback,
        source_language_fallback=settings.source_language_fallback,
        story_prompt=plan.story_prompt,
    )


def _batch_first(
    plan: EditionPlan,
    settings: Settings,
    llm: LLMClient,
    summarizer: Summarizer,
    notice: Notice,
    sleep: Callable[[float], None],
) -> BatchOutcome:
    state = plan.batch_state
    if state is None:
        return BatchOutcome()
    if settings.endpoint.uses_local_model:
        notice("the embedded local model has no Batch API; using direct calls")
        return BatchOutcome()
    if not summarizer.cache.enabled:
        notice("--batch hands its answers over through the cache, which is off; using direct calls")
        return BatchOutcome()
    runner = BatchRunner(llm, summarizer, state_path=state, notice=notice, sleep=sleep)
    if settings.strategy == "pivot" and plan.translate is not None:
        # The batch asks for the summaries in each article's own language; translations
        # rest on them, so they are asked directly afterwards.
        pending = [
            task
            for article in plan.articles
            if (own := own_language(article)) is not None
            for task in summarizer.pending([article], [own], plan.prompt_for(article))
        ]
    else:
        pending = [
            task
            for article in plan.articles
            for task in summarizer.pending([article], plan.languages, plan.prompt_for(article))
        ]
    return runner.run(pending, plan.prompt.ref)


def _paid_by_batch(
    results: list[StoryResult], outcome: BatchOutcome, plan: EditionPlan
) -> list[StoryResult]:
    """Batch answers come back through the cache, but they were paid for in this run."""
    answered = set(outcome.answered)
    refs = {a.id: plan.prompt_for(a).ref for a in plan.articles}
    return [
        r.model_copy(update={"cached": False})
        if r.cached and f"{r.article_id}:{r.lang}:{refs.get(r.article_id)}" in answered
        else r
        for r in results
    ]


def write_edition(
    digest: Digest,
    out_dir: Path,
    *,
    started: float,
    extra: dict[str, object] | None = None,
    editions: Path | None = None,
) -> EditionOutcome:
    """Render every language, write ``extra`` JSON files, then the manifest (once, last:
    a folder with a manifest is a complete edition).

    ``digest`` holds the model's answers; an editor's decisions already in the folder
    (a re-run) are applied to them. ``editions``: the folder of dated editions this one
    belongs to (daily), whose earlier corrections it carries."""
    render_started = time.monotonic()
    files = [write_desk(digest, out_dir)]
    carried, notes = pending(editions, digest.edition_date) if editions else ([], [])
    record = load_record(out_dir)
    digest = digest.model_copy(
        update={
            "results": apply(digest.results, record),
            "corrections": carried,
            "warnings": [*digest.warnings, *notes],
        }
    )
    report = render_digest(digest, out_dir)
    files += report.files
    for name, data in (extra or {}).items():
        files.append(write_json_atomic(out_dir / name, data))
    now = time.monotonic()
    timings = {**digest.timings, "render": now - render_started, "total": now - started}
    digest = digest.model_copy(
        update={
            "warnings": [*digest.warnings, *report.warnings],
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
    )
    manifest = Manifest.of(digest, title=report.title, titles=report.titles, review=record)
    files += write_edition_feeds(manifest, out_dir, digest.site_url)
    files.append(manifest.write(out_dir))
    if editions and carried:
        mark_carried(editions, carried, digest.edition_date)
    return EditionOutcome(digest=digest, out_dir=out_dir, files=files, warnings=digest.warnings)


def batch_state_path(out_dir: Path) -> Path:
    return out_dir / STATE_FILE
