"""From the day's deduplicated articles to events: one story per event, ranked.

Pure functions: ``cluster_articles`` (digest.ingest.clusters) has grouped the articles; here
each cluster becomes an ``Event`` with its outlets, language, lead article, disagreements
and score.

- **Outlet**: the article's host (``www.`` dropped); an article without a link counts once
  per feed that carried it (the feed's own title) or, from a folder, is its file's name. The
  same wire copy on one host is one outlet however many feeds carry it.
- **Language**: the language most of its articles are written in (a tie goes to a language
  of the edition, then to the first article's).
- **Lead**: the longest article in that language: its title is the story's.
- **Rank**: freshness of the newest article in the window (1.0 = just now, 0.0 = at the
  window's start or undated) plus ``OUTLET_WEIGHT`` per independent outlet beyond the
  first. Ties keep the input order (the sources' order in the config).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from digest.ingest.clusters import Cluster, ClusterResult, Merge
from digest.ingest.disagreements import find_disagreements
from digest.ingest.stories import Story, Window, aware
from digest.models import Article, SourceDisagreement, SourceValue

OUTLET_WEIGHT = 0.5


class Event(BaseModel):
    """The articles of one event, lead first, and what ranks and labels it."""

    members: list[Story]
    cohesion: float = 1.0
    merges: list[Merge] = []  # the links that made the cluster (clusters.Merge)
    outlets: list[str]  # distinct, in member order
    lang: str | None = None
    score: float = 0.0
    section: str | None = None
    disagreements: list[SourceDisagreement] = []

    @property
    def lead(self) -> Article:
        return self.members[0].article

    @property
    def articles(self) -> list[Article]:
        return [m.article for m in self.members]

    @property
    def newest(self) -> datetime | None:
        dates = [aware(a.published) for a in self.articles if a.published is not None]
        return max(dates) if dates else None

    def origins(self) -> list[str]:
        return list(dict.fromkeys(o for m in self.members for o in m.origins))


def outlets_of(story: Story, feed_titles: dict[str, str]) -> list[str]:
    """The outlet names an article stands for (see the module docstring)."""
    article = story.article
    if article.url:
        host = (urlsplit(article.url).hostname or "").lower().removeprefix("www.")
        if host:
            return [host]
    names = []
    for origin in story.origins:
        kind, _, where = origin.partition(":")
        if kind == "feed":
            names.append(feed_titles.get(origin) or Path(where).name or where)
        elif kind == "site":
            names.append(where.removeprefix("www."))
    return names or [Path(article.source).name or article.source]


def event_language(articles: list[Article], preferred: list[str]) -> str | None:
    langs = Counter(a.source_lang for a in articles if a.source_lang)
    if not langs:
        return None
    top = max(langs.values())
    tied = [lang for lang in langs if langs[lang] == top]
    for lang in [*preferred, *(a.source_lang for a in articles)]:
        if lang in tied:
            return lang
    return tied[0]


def build_events(
    stories: list[Story],
    result: ClusterResult,
    feed_titles: dict[str, str],
    preferred: list[str],
) -> list[Event]:
    """One event per cluster, in the order of each cluster's first article."""
    by_id = {s.article.id: s for s in stories}
    position = {s.article.id: i for i, s in enumerate(stories)}
    clusters: list[Cluster] = sorted(
        result.clusters, key=lambda c: min(position[i] for i in c.article_ids)
    )
    events = []
    for cluster in clusters:
        members = sorted(
            (by_id[i] for i in cluster.article_ids), key=lambda s: position[s.article.id]
        )
        lang = event_language([m.article for m in members], preferred)
        lead = max(members, key=lambda s: (s.article.source_lang == lang, len(s.article.text)))
        ordered = [lead] + sorted(
            (m for m in members if m is not lead),
            key=lambda s: (s.article.source_lang != lang, position[s.article.id]),
        )
        outlets = list(dict.fromkeys(o for m in ordered for o in outlets_of(m, feed_titles)))
        event = Event(
            members=ordered,
            cohesion=cluster.cohesion,
            merges=cluster.merges,
            outlets=outlets,
            lang=lang,
        )
        if len(outlets) > 1:
            event.disagreements = disagreements(event, feed_titles)
        events.append(event)
    return events


def disagreements(event: Event, feed_titles: dict[str, str]) -> list[SourceDisagreement]:
    """``find_disagreements`` over the event's articles, its outlets named as ours are."""
    names = {m.article.id: outlets_of(m, feed_titles)[0] for m in event.members}
    found = []
    for item in find_disagreements(event.articles):
        values = [
            SourceValue(
                value=claim.value,
                outlets=list(
                    dict.fromkeys(
                        names.get(i, s)
                        for i, s in zip(claim.article_ids, claim.sources, strict=False)
                    )
                ),
            )
            for claim in item.values
        ]
        kind: Literal["figure", "name"] = "name" if item.kind == "name" else "figure"
        found.append(SourceDisagreement(what=item.what, kind=kind, values=values))
    return found


def rank_events(events: list[Event], window: Window, now: datetime) -> list[Event]:
    reference = window.end or aware(now)
    span = (reference - window.start).total_seconds()
    for event in events:
        fresh = 0.0
        newest = event.newest
        if newest is not None and span > 0:
            age = (reference - newest).total_seconds()
            fresh = min(1.0, max(0.0, 1.0 - age / span))
        event.score = round(fresh + OUTLET_WEIGHT * (len(event.outlets) - 1), 6)
    return sorted(events, key=lambda e: -e.score)
