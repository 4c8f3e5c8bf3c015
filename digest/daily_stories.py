"""`digest daily`, middle stage: the day's candidate articles -> the edition's stories.

    window, dedupe (same URL, near-same text)        digest.ingest.stories
    events across outlets and languages              digest.ingest.clusters (+ embeddings
                                                     when the endpoint serves them, + the
                                                     same-event prompt when configured)
    continuity with the last days' editions          digest.continuity (repeats left out,
                                                     updates linked)
    rank by outlets and recency, limit               digest.ingest.events
    sections                                         digest.ingest.sections
    one article per story: the article itself, or    digest.story_sources
    a StoryArticle of several sources / an update

Everything the edition records about its stories comes back too: ``StoryInfo`` per story
(manifest, renderer), the ``stories.json`` records (with the source excerpts later editions
match on) and ``ClusteringInfo`` (which method ran and why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from digest.budget import Budget
from digest.checks import Gate
from digest.config import Settings
from digest.continuity import EXCERPT_CHARS, Link, load_earlier, match_earlier
from digest.edition import open_cache
from digest.ingest.clusters import ClusterResult, Embedder, Tuning, cluster_articles
from digest.ingest.events import Event, build_events, outlets_of, rank_events
from digest.ingest.sections import arrange, section_for
from digest.ingest.stories import Candidate, Window, dedupe, parse_since
from digest.langid import lang_key
from digest.llm.embeddings import EmbeddingsUnavailable, embedder, probe
from digest.llm.endpoint import open_endpoint
from digest.llm.probe import settle_mode
from digest.models import (
    Article,
    ClusteringInfo,
    StoryArticle,
    StoryInfo,
    StorySource,
    Usage,
)
from digest.prompts import load_prompt
from digest.story_questions import StoryQuestions
from digest.story_sources import labels, prompt_members, story_article
from digest.summarize import Summarizer

Notice = Callable[[str], None]


class StoryCounts(BaseModel):
    duplicates: int = 0  # near-identical copies dropped
    outside_window: int = 0
    merged: int = 0  # articles that joined another article's story
    over_limit: int = 0  # stories past --max-stories
    repeats: int = 0  # stories an earlier edition already told, with nothing new
    updates: int = 0


class StoryPlan(BaseModel):
    articles: list[Article]  # what the edition summarises, in edition order
    infos: list[StoryInfo]
    records: list[dict[str, Any]]  # stories.json
    clustering: ClusteringInfo
    counts: StoryCounts
    usage: Usage = Usage()
    warnings: list[str] = []


@dataclass
class _Helpers:
    embed: Embedder | None = None
    questions: StoryQuestions | None = None
    note: str = ""  # why embeddings were not used


@contextmanager
def _helpers(settings: Settings, notice: Notice) -> Iterator[_Helpers]:
    """The endpoint, only when clustering or sections need it: embeddings (a remote
    endpoint that serves them), the same-event or the classification prompt."""
    daily = settings.daily
    local = settings.endpoint.uses_local_model
    wants_embeddings = daily.embeddings == "auto" and not local
    note = "embeddings off" if daily.embeddings == "off" else ""
    if daily.embeddings == "auto" and local:
        note = "the embedded local model serves no embeddings"
    if not (wants_embeddings or daily.confirm_merges or daily.classify):
        yield _Helpers(note=note)
        return
    with ExitStack() as stack:
        llm = stack.enter_context(open_endpoint(settings.endpoint, lambda _m: None))
        helpers = _Helpers(note=note)
        if wants_embeddings:
            # One tiny request: an endpoint without embeddings (404) means lexical, quietly.
            problem = probe(llm.wire, daily.embedding_model)
            if problem is None:
                helpers.embed = embedder(llm.wire, daily.embedding_model)
            else:
                helpers.note = problem
                if "404" not in problem:
                    notice(f"clustering without embeddings: {problem}")
        if daily.confirm_merges or daily.classify:
            cache = stack.enter_context(open_cache(settings.cache, notice))
            settle_mode(llm, cache)  # the JSON mode, as the edition will (remembered)
            summarizer = Summarizer(
                llm,
                cache,
                Gate([]),
                reasks=settings.reasks,
                budget=Budget.for_model(settings.budget, llm.model),
            )
            helpers.questions = StoryQuestions(
                summarizer,
                same_event=load_prompt(daily.same_event_prompt) if daily.confirm_merges else None,
                classify=load_prompt(daily.classify_prompt) if daily.classify else None,
            )
        yield helpers


def _cluster(
    articles: list[Article], hours: float, helpers: _Helpers, settings: Settings, notice: Notice
) -> ClusterResult:
    questions = helpers.questions
    confirm = questions.same_event if questions and settings.daily.confirm_merges else None
    tuning = Tuning(embedding_threshold=settings.daily.embedding_threshold)
    if helpers.embed is not None:
        try:
            return cluster_articles(
                articles, window_hours=hours, embed=helpers.embed, confirm=confirm, tuning=tuning
            )
        except EmbeddingsUnavailable as exc:
            helpers.embed, helpers.note = None, str(exc)
            notice(f"clustering without embeddings: {exc}")
    return cluster_articles(articles, window_hours=hours, confirm=confirm, tuning=tuning)


def plan_stories(
    candidates: list[Candidate],
    feed_titles: dict[str, str],
    settings: Settings,
    window: Window,
    *,
    now: datetime,
    day: date,
    languages: list[str],
    notice: Notice = lambda _m: None,
) -> StoryPlan:
    daily = settings.daily
    inside = [c for c in candidates if window.contains(c.article.published)]
    units, duplicates = dedupe(inside)
    counts = StoryCounts(duplicates=duplicates, outside_window=len(candidates) - len(inside))
    hours = parse_since(daily.cluster_window).total_seconds() / 3600
    warnings: list[str] = []
    with _helpers(settings, notice) as helpers:
        result = _cluster([u.article for u in units], hours, helpers, settings, notice)
        events = build_events(units, result, feed_titles, languages)
        counts.merged = len(units) - len(events)
        earlier, problems = load_earlier(settings.out, day, daily.continuity_days)
        warnings += problems
        span = hours + 24.0 * daily.continuity_days
        links = match_earlier(events, earlier, window_hours=span, method="lexical")
        kept_events: list[tuple[Event, Link | None]] = []
        for n, event in enumerate(events):
            link = links.get(n)
            if link is not None and link.repeat:
                counts.repeats += 1
                continue
            kept_events.append((event, link))
        ranked = rank_events([e for e, _ in kept_events], window, now)
        counts.over_limit = max(0, len(ranked) - daily.max_stories)
        chosen = ranked[: daily.max_stories]
        classify = helpers.questions.section if helpers.questions and daily.classify else None
        for event in chosen:
            event.section = section_for(event, daily.sections, daily.category_map, classify)
        ordered = arrange(chosen, daily.sections, daily.min_section_stories)
        usage = helpers.questions.usage if helpers.questions else Usage()
        clustering = ClusteringInfo(
            method=result.method,
            embedding_model=daily.embedding_model if result.method != "lexical" else None,
            note=helpers.note,
            articles=len(units),
            clusters=len(result.clusters),
            window_hours=hours,
            candidate_pairs=result.candidate_pairs,
            confirmed=helpers.questions.asked if helpers.questions else 0,
            refused=helpers.questions.refused if helpers.questions else 0,
        )
    link_of = {id(e): link for e, link in kept_events}
    story_ref = load_prompt(daily.story_prompt).ref
    articles: list[Article] = []
    infos: list[StoryInfo] = []
    records: list[dict[str, Any]] = []
    for event in ordered:
        link = link_of.get(id(event))
        counts.updates += link is not None
        article, info = _story(event, link, feed_titles, settings, story_ref)
        articles.append(article)
        infos.append(info)
        records.append(_record(event, article, info, clustering.method))
    return StoryPlan(
        articles=articles,
        infos=infos,
        records=records,
        clustering=clustering,
        counts=counts,
        usage=usage,
        warnings=warnings,
    )


def _label(n: int) -> str:
    letters = labels()
    return letters[n] if n < len(letters) else letters[n // len(letters) - 1] + letters[n % 26]


def _story(
    event: Event, link: Link | None, feed_titles: dict[str, str], settings: Settings, ref: str
) -> tuple[Article, StoryInfo]:
    names = {m.article.id: outlets_of(m, feed_titles)[0] for m in event.members}
    previous = previous_date = None
    if link is not None:
        summaries = link.earlier.summaries
        previous = summaries.get(lang_key(event.lang) or "") or next(iter(summaries.values()), None)
        previous_date = link.earlier.edition_date.isoformat()
    if len(event.members) > 1 or previous is not None:
        article: Article = story_article(
            event,
            names,
            settings.max_article_tokens,
            previous=previous,
            previous_date=previous_date,
        )
        parts = {p.label: p for p in article.parts} if isinstance(article, StoryArticle) else {}
        prompt: str | None = ref
    else:
        article = event.lead.model_copy(update={"section": event.section})
        parts, prompt = {}, None
    in_prompt = [a.id for a in prompt_members(event, names)] if prompt else []
    order = in_prompt + [a.id for a in event.articles if a.id not in in_prompt]
    members = {m.article.id: m for m in event.members}
    sources = []
    for n, article_id in enumerate(order):
        member = members[article_id]
        label = _label(n)
        part = parts.get(label) if n < len(in_prompt) else None
        source = member.article
        sources.append(
            StorySource(
                label=label,
                article_id=source.id,
                outlet=names[source.id],
                title=source.title,
                url=source.url,
                path=source.source
                if any(o.startswith("folder:") for o in member.origins)
                else None,
                location=source.url or source.source,
                lang=source.source_lang,
                published=source.published,
                origins=member.origins,
                sentences=[part.first, part.first + len(part.sentences) - 1] if part else [],
                excerpt=source.text[:EXCERPT_CHARS],
            )
        )
    info = StoryInfo(
        id=article.id,
        sources=sources,
        outlets=event.outlets,
        score=event.score,
        cohesion=event.cohesion,
        prompt=prompt,
        disagreements=event.disagreements,
        update=link.earlier.update() if link is not None else None,
    )
    return article, info


def _record(event: Event, article: Article, info: StoryInfo, method: str) -> dict[str, Any]:
    """One story of stories.json: why it is in the edition and what it is made of."""
    origins = event.origins()
    cluster = {
        "method": method,
        "cohesion": event.cohesion,
        "merges": [m.model_dump(mode="json") for m in event.merges],
    }
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "section": event.section,
        "published": article.published.isoformat() if article.published else None,
        "language": event.lang,
        "sources_count": len(origins),
        "origins": origins,
        "cluster": cluster,
        **info.model_dump(mode="json", exclude={"id"}),
    }
