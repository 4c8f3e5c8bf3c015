"""Candidate articles before they become stories: the time window and dedupe.

(Events across outlets and languages, ranking and sections: ``digest.ingest.events`` and
``digest.ingest.sections``.) Rules (also in ``digest daily --help``):

- Window: ``since`` (``24h``, ``36h``, ``2d``, ``90m``, ``1w``) back from now, or back
  from the end of ``--date``'s day (local time); with ``--date`` stories dated after
  that day are left out too. Undated stories are kept: a page without a date is more
  often today's news than not, and dropping it silently would lose it.
- Duplicates: the same URL after normalisation (case-insensitive host, http = https,
  no fragment, no ``utm_*`` parameters, no trailing slash), or the same or nearly the same
  text (word 5-shingle Jaccard similarity >= 0.8). The first one seen is kept, and it
  records every source that carried the story (``sources_count``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from datetime import time as clock
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel

from digest.errors import UsageError
from digest.models import Article

SIMILARITY = 0.8
SHINGLE_WORDS = 5
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_WORD = re.compile(r"\w+")


class Window(BaseModel):
    start: datetime
    end: datetime | None  # None: open-ended (no --date; a future-dated story is kept)

    def contains(self, when: datetime | None) -> bool:
        if when is None:
            return True
        when = aware(when)
        return self.start <= when and (self.end is None or when <= self.end)


class Candidate(BaseModel):
    """An article and the sources (feed URLs, folders, sites) that carried it."""

    article: Article
    origins: list[str]
    category: str | None = None  # the feed entry's (or file's) own category


class Story(BaseModel):
    """One article after dedupe, with every source that carried it."""

    article: Article
    origins: list[str]
    category: str | None = None
    score: float = 0.0

    @property
    def sources_count(self) -> int:
        return len(set(self.origins))


def parse_since(text: str) -> timedelta:
    match = _SINCE.match(text)
    if not match:
        raise UsageError(f"cannot read --since {text!r} (use e.g. 24h, 36h, 2d, 90m, 1w)")
    span = timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
    if span <= timedelta(0):
        raise UsageError("--since must be longer than zero")
    return span


def aware(when: datetime) -> datetime:
    """A naive date (front matter, page metadata) is taken as local time."""
    return when if when.tzinfo is not None else when.astimezone()


def make_window(since: str, *, now: datetime, day: date | None = None) -> Window:
    span = parse_since(since)
    if day is None:
        return Window(start=aware(now) - span, end=None)
    end = datetime.combine(day, clock.max).astimezone()
    return Window(start=end - span, end=end)


def normalize_url(url: str) -> str:
    """The dedupe key of a URL (not a URL to fetch: the scheme is dropped)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_")
    ]
    return urlunsplit(("", host, parts.path.rstrip("/"), urlencode(query), ""))


def without_tracking(url: str) -> str:
    """The link readers get: no ``utm_*`` parameters, no fragment; otherwise unchanged."""
    parts = urlsplit(url.strip())
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_")
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def shingles(text: str) -> frozenset[tuple[str, ...]]:
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) <= SHINGLE_WORDS:
        return frozenset([tuple(words)])
    return frozenset(
        tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
    )


def similarity(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def dedupe(candidates: list[Candidate]) -> tuple[list[Story], int]:
    """Stories in first-seen order, and how many candidates were merged into one."""
    stories: list[Story] = []
    by_url: dict[str, int] = {}
    texts: list[frozenset[tuple[str, ...]]] = []
    merged = 0
    for candidate in candidates:
        article = candidate.article
        key = normalize_url(article.url) if article.url else None
        grams = shingles(article.text)
        index = by_url.get(key) if key else None
        if index is None:
            index = next(
                (i for i, seen in enumerate(texts) if similarity(grams, seen) >= SIMILARITY),
                None,
            )
        if index is None:
            index = len(stories)
            stories.append(
                Story(article=article, origins=list(candidate.origins), category=candidate.category)
            )
            texts.append(grams)
        else:
            merged += 1
            story = stories[index]
            story.origins.extend(o for o in candidate.origins if o not in story.origins)
            story.category = story.category or candidate.category
            if story.article.section is None and article.section is not None:
                story.article = story.article.model_copy(update={"section": article.section})
            if story.article.published is None and article.published is not None:
                story.article = story.article.model_copy(update={"published": article.published})
        if key:
            by_url.setdefault(key, index)
    return stories, merged
