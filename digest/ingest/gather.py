"""The day's sources in: feeds, URL lists and folders -> candidate articles.

Reading is forgiving: a feed or page that cannot be used is a warning, never fatal. Feed
entries outside the time window are not fetched; the same URL from two sources is fetched
once (both sources are recorded). A page that cannot be read falls back to the feed's own
text when that is long enough to be an article.

Feeds and pages are fetched concurrently, at most ``HostLimits.per_host`` at once from one
host and ``overall`` in all, and conditionally (digest.ingest.conditional): an unchanged feed
or page answers 304 and what was stored from it last time is used.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import zip_longest
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from digest.errors import FeedError, FetchError, InputError
from digest.fsutil import read_capped
from digest.ingest.cleaning import one_line
from digest.ingest.conditional import ConditionalStore, FetchCounts, fetch_conditional
from digest.ingest.feeds import Feed, parse_feed
from digest.ingest.fetch import HostLimits, host_of, is_http_url
from digest.ingest.files import article_from_html, load_inputs, make_article
from digest.ingest.stories import Candidate, Window, normalize_url, without_tracking
from digest.models import Article
from digest.sections import SourceConfig

Notice = Callable[[str], None]
MIN_FALLBACK_WORDS = 80  # a feed's own text shorter than this is a teaser, not an article
T = TypeVar("T")
R = TypeVar("R")


class Lead(BaseModel):
    """A story to fetch (a feed entry or a listed URL), before its page is read."""

    url: str | None
    title: str | None = None
    published: datetime | None = None
    section: str | None = None  # the source's configured section
    category: str | None = None  # the feed entry's first category
    fallback: str = ""  # the feed entry's own text
    origins: list[str]


class Gathered(BaseModel):
    candidates: list[Candidate] = []
    warnings: list[str] = []
    found: int = 0
    skipped: int = 0
    outside_window: int = 0
    duplicates: int = 0
    feed_titles: dict[str, str] = {}  # origin ("feed:<location>") -> the feed's own title
    requests: int = 0  # HTTP requests sent (feeds and pages)
    not_modified: int = 0  # of those, answered 304 (the stored copy was used)
    bytes: int = 0  # body bytes received


def gather(
    sources: list[SourceConfig],
    client: httpx.Client,
    window: Window,
    max_tokens: int,
    notice: Notice = lambda _m: None,
    *,
    store: ConditionalStore | None = None,
    limits: HostLimits | None = None,
) -> Gathered:
    """Candidates from every source, in source order. Feed entries outside the window are
    not fetched, and the same URL from two sources is fetched once (both are recorded)."""
    out = Gathered()
    store = store or ConditionalStore(None)
    limits = limits or HostLimits()
    counts = FetchCounts()

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
        first.category = first.category or lead.category
        if len(lead.fallback) > len(first.fallback):
            first.fallback = lead.fallback

    def read_feed(source: SourceConfig) -> Feed | str:
        location = str(source.feed)
        try:
            if not is_http_url(location):
                return parse_feed(read_capped(Path(location)), source=location)
            with limits.slot(location):
                fetched, stored = fetch_conditional(
                    client, location, kind="feed", store=store, counts=counts
                )
            content = stored if stored is not None else fetched.content
            feed = parse_feed(content, source=fetched.url, content_type=fetched.content_type)
            if stored is None:
                store.put(location, "feed", fetched, fetched.content)
            return feed
        except (FetchError, FeedError, InputError) as exc:
            return exc.message

    feeds = [s for s in sources if s.feed]
    read = dict(
        zip(
            (id(s) for s in feeds),
            _fetch_all(feeds, read_feed, lambda s: str(s.feed), limits.overall),
            strict=True,
        )
    )
    for source in sources:
        if source.feed:
            for lead in _feed_leads(source, read[id(source)], out, warn):
                add(lead)
        for url in source.urls:
            host = urlsplit(url).hostname or url
            add(Lead(url=url, section=source.section, origins=[f"site:{host.lower()}"]))
        if source.folder:
            _folder_candidates(source, max_tokens, out, warn)

    def read_page(lead: Lead) -> tuple[Candidate | None, str | None, bool]:
        return _read_lead(lead, client, max_tokens, store, limits, counts)

    pages = _fetch_all(leads, read_page, lambda lead: lead.url or "", limits.overall)
    for candidate, message, skipped in pages:
        if message:
            warn(message, skipped=skipped)
        if candidate is not None:
            out.candidates.append(candidate)
    store.prune()
    out.requests, out.not_modified, out.bytes = counts.requests, counts.not_modified, counts.bytes
    return out


def _fetch_all(
    items: list[T], work: Callable[[T], R], url: Callable[[T], str], workers: int
) -> list[R]:
    """``work`` on every item, ``workers`` at once, results in item order. Items are
    started host by host in turn, so the per-host limit never leaves a worker waiting on
    one busy host while others are idle (ten pages of one feed come in a row)."""
    queues: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        queues.setdefault(host_of(url(item)), []).append(n)
    order = [n for row in zip_longest(*queues.values()) for n in row if n is not None]
    results: dict[int, R] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="digest-fetch") as pool:
        for n, result in zip(order, pool.map(lambda n: work(items[n]), order), strict=True):
            results[n] = result
    return [results[n] for n in range(len(items))]


def _feed_leads(
    source: SourceConfig, feed: Feed | str, out: Gathered, warn: Callable[..., None]
) -> list[Lead]:
    location = str(source.feed)
    if isinstance(feed, str):
        warn(f"feed {feed} (skipped)", skipped=True)
        return []
    if not feed.entries:
        warn(f"feed {location}: no entries")
    origin = f"feed:{location}"
    out.feed_titles[origin] = feed.title
    return [
        Lead(
            # feedparser copies an Atom <id> (tag:, urn:) or an RSS <guid> into the link
            # when the entry has none: only an http(s) link is a page to fetch and to show.
            url=entry.link if entry.link and is_http_url(entry.link) else None,
            title=entry.title or None,
            published=entry.published,
            section=source.section,
            category=entry.category,
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
        # A file's own `section:` is a category like a feed's; the source's is configured.
        category = article.section
        article = article.model_copy(update={"section": source.section})
        out.candidates.append(
            Candidate(article=article, origins=[f"folder:{folder}"], category=category)
        )


def _read_lead(
    lead: Lead,
    client: httpx.Client,
    max_tokens: int,
    store: ConditionalStore,
    limits: HostLimits,
    counts: FetchCounts,
) -> tuple[Candidate | None, str | None, bool]:
    """(candidate, warning, skipped): the page's main text, else the feed's own text."""
    problem = f"{lead.title or 'a feed entry'}: no link"
    if lead.url:
        try:
            with limits.slot(lead.url):
                page, stored = fetch_conditional(
                    client, lead.url, kind="page", store=store, counts=counts
                )
            article = _stored_article(stored)
            if article is None:
                article = article_from_html(
                    page.content,
                    url=without_tracking(page.url),
                    source=lead.url,
                    section=lead.section,
                    max_tokens=max_tokens,
                )
                store.put(lead.url, "page", page, article.model_dump_json().encode("utf-8"))
            update: dict[str, object] = {
                "published": lead.published or article.published,
                "section": lead.section,
            }
            if lead.title:
                update["title"] = one_line(lead.title)
            return (
                Candidate(
                    article=article.model_copy(update=update),
                    origins=lead.origins,
                    category=lead.category,
                ),
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
            candidate = Candidate(article=article, origins=lead.origins, category=lead.category)
            return candidate, message, False
    return None, f"{problem} (skipped)", True


def _stored_article(payload: bytes | None) -> Article | None:
    if payload is None:
        return None
    try:
        return Article.model_validate_json(payload)
    except ValidationError:
        return None
