"""Continuity across editions: a story that continues one of the last days' is an update.

The dated folders under OUT are the archive: each edition's ``stories.json`` lists its
stories with every source's title and the start of its text, and its ``manifest.json`` the
summaries as published. ``load_earlier`` reads the editions of the ``days`` before this one;
``match_earlier`` links each of today's events to an earlier story of the same event:

- an article of today's event was one of the earlier story's sources, or
- ``cluster_articles`` (lexical, on the same-sized starts of the texts) puts an article of
  each in one cluster.

The most recent edition wins, then the story sharing the most articles. An event whose
every article was already in the earlier story is a *repeat* (nothing new: left out of
the edition); any other match is an *update*: labelled, linked, and summarised leading with
what is new since the earlier summary (``StoryArticle.previous``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel, ValidationError

from digest.corrections import earlier_editions
from digest.errors import DigestError
from digest.ingest.clusters import Embedder, MethodName, cluster_articles
from digest.ingest.events import Event
from digest.manifest import Manifest
from digest.models import Article, StoryInfo, StoryUpdate, Summary

EXCERPT_CHARS = 1500  # of each source's text kept in stories.json, and compared here


class Earlier(BaseModel):
    """A story of an earlier edition, with what it published."""

    edition_date: date
    story: StoryInfo
    title: str
    headlines: dict[str, str] = {}  # language code -> headline as published
    summaries: dict[str, str] = {}  # language base -> "headline. summary" (pivots included)

    @property
    def published(self) -> bool:
        return bool(self.summaries)

    def update(self) -> StoryUpdate:
        return StoryUpdate(
            edition_date=self.edition_date,
            story_id=self.story.id,
            title=self.title,
            headlines=self.headlines,
        )


class Link(BaseModel):
    earlier: Earlier
    repeat: bool


def _text(summary: Summary) -> str:
    return f"{summary.headline.rstrip('.')}. {summary.summary}"


def load_earlier(editions: Path, day: date, days: int) -> tuple[list[Earlier], list[str]]:
    """Stories of the editions in the ``days`` before ``day``, newest edition first, and
    warnings for folders that could not be read."""
    found: list[Earlier] = []
    warnings: list[str] = []
    if days <= 0:
        return found, warnings
    since = day - timedelta(days=days)
    for folder in reversed(earlier_editions(editions, day)):
        if date.fromisoformat(folder.name) < since:
            break
        path = folder / "stories.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = Manifest.load(folder)
        except (OSError, ValueError, DigestError):
            continue  # an edition before stories were recorded, or unfinished: nothing to match
        stories = data.get("stories") if isinstance(data, dict) else None
        for raw in stories if isinstance(stories, list) else []:
            try:
                story = StoryInfo.model_validate(raw)
            except ValidationError:
                warnings.append(f"{path}: a story record is unreadable; skipped")
                continue
            found.append(_earlier(manifest, story, str(raw.get("title") or "")))
    return found, warnings


def _earlier(manifest: Manifest, story: StoryInfo, title: str) -> Earlier:
    headlines: dict[str, str] = {}
    summaries: dict[str, str] = {}
    for result in [*manifest.results, *manifest.pivots]:
        if result.article_id != story.id or result.status != "published" or not result.summary:
            continue
        if result.origin == "source-language":
            continue  # another language's text shown in this one
        headlines.setdefault(result.lang, result.summary.headline)
        summaries.setdefault(result.lang.split("-")[0], _text(result.summary))
    return Earlier(
        edition_date=manifest.edition_date,
        story=story,
        title=title or (story.sources[0].title if story.sources else story.id),
        headlines=headlines,
        summaries=summaries,
    )


def match_earlier(
    events: list[Event],
    earlier: list[Earlier],
    *,
    window_hours: float,
    embed: Embedder | None = None,
    method: MethodName | None = None,
) -> dict[int, Link]:
    """Event index -> the earlier story it continues (see the module docstring)."""
    if not events or not earlier:
        return {}
    articles: list[Article] = []
    owner: dict[str, tuple[str, int]] = {}
    for n, event in enumerate(events):
        for article in event.articles:
            key = f"now:{n}:{article.id}"
            owner[key] = ("now", n)
            articles.append(_excerpt(article, key))
    for n, story in enumerate(earlier):
        for source in story.story.sources:
            key = f"then:{n}:{source.article_id}"
            owner[key] = ("then", n)
            articles.append(
                Article(
                    id=key,
                    title=source.title,
                    text=source.excerpt or source.title,
                    published=source.published,
                    source=source.location,
                    source_lang=source.lang,
                )
            )
    result = cluster_articles(articles, window_hours=window_hours, embed=embed, method=method)
    votes: dict[int, Counter[int]] = {}
    for cluster in result.clusters:
        now = [owner[i][1] for i in cluster.article_ids if owner[i][0] == "now"]
        then = [owner[i][1] for i in cluster.article_ids if owner[i][0] == "then"]
        for n in now:
            votes.setdefault(n, Counter()).update(then)
    for n, event in enumerate(events):  # the very same article: the strongest link
        ids = {a.id for a in event.articles}
        for m, story in enumerate(earlier):
            shared = ids & {s.article_id for s in story.story.sources}
            if shared:
                votes.setdefault(n, Counter())[m] += 10 * len(shared)
    links: dict[int, Link] = {}
    for n, counter in votes.items():
        if not counter:
            continue
        best = max(counter, key=lambda m: (earlier[m].edition_date, counter[m], -m))
        story = earlier[best]
        before = {s.article_id for s in story.story.sources}
        repeat = story.published and {a.id for a in events[n].articles} <= before
        links[n] = Link(earlier=story, repeat=repeat)
    return links


def _excerpt(article: Article, key: str) -> Article:
    return article.model_copy(update={"id": key, "text": article.text[:EXCERPT_CHARS]})
