"""The day's sources in: feeds, URL lists and folders -> candidate articles.

Reading is forgiving: a feed or page that cannot be used is a warning, never fatal. Feed
entries outside the time window are not fetched; the same URL from two sources is fetched
once (both sources are recorded). A page that cannot be read falls back to the feed's own
text when that is long enough to be an article.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from digest.config import SourceConfig
from digest.errors import FeedError, FetchError, InputError
from digest.fsutil import read_capped
from digest.ingest.cleaning import one_line
from digest.ingest.feeds import parse_feed
from digest.ingest.fetch import fetch, is_http_url
from digest.ingest.files import article_from_html, load_inputs, make_article
from digest.ingest.stories import Candidate, Window, normalize_url, without_tracking

Notice = Callable[[str], None]
MIN_FALLBACK_WORDS = 80  # a feed's own text shorter than this is a teaser, not an article
FETCH_WORKERS = 8


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
