"""RSS and Atom feeds in, plain ``FeedEntry`` models out (feedparser does the parsing).

We always hand feedparser the bytes (never a URL or a path): fetching stays in
``digest.ingest.fetch`` with its size cap, timeout and redirect limit, and feedparser never
touches the network or the file system on our behalf.
"""

from __future__ import annotations

import calendar
import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import feedparser
from pydantic import BaseModel

from digest.errors import FeedError
from digest.ingest.cleaning import clean_text, one_line


class FeedEntry(BaseModel):
    title: str
    link: str | None
    published: datetime | None  # timezone-aware (UTC); None if the entry carries no date
    category: str | None
    text: str  # the entry's own content or summary as plain text (a fallback for the page)


class Feed(BaseModel):
    title: str
    entries: list[FeedEntry]


def parse_feed(data: bytes, *, source: str, content_type: str = "") -> Feed:
    """Entries in feed order. Raises ``FeedError`` if this is not an RSS/Atom feed.

    ``source`` is the feed's URL or path: relative entry links are resolved against it.
    """
    headers = {"content-location": source}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    if not parsed.entries:
        if not parsed.get("version"):
            problem = parsed.get("bozo_exception")
            detail = f" ({one_line(str(problem))[:120]})" if problem else ""
            raise FeedError(f"{source}: not an RSS or Atom feed{detail}")
        return Feed(title=_feed_title(parsed, source), entries=[])
    entries = [_entry(raw, source) for raw in parsed.entries]
    return Feed(title=_feed_title(parsed, source), entries=entries)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment (a feed's summary or content), paragraphs kept."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return clean_text(re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts)))


# --- helpers ------------------------------------------------------------------------------


def _feed_title(parsed: Any, source: str) -> str:
    title = parsed.feed.get("title") if parsed.get("feed") else None
    return one_line(str(title)) if title else source


def _entry(raw: Any, source: str) -> FeedEntry:
    link = raw.get("link")
    link = urljoin(source, str(link).strip()) if link else None
    return FeedEntry(
        title=one_line(html_to_text(str(raw.get("title") or ""))),
        link=link,
        published=_date(raw),
        category=_category(raw),
        text=_body(raw),
    )


def _date(raw: Any) -> datetime | None:
    # feedparser normalises every date format it knows to a UTC struct_time.
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def _category(raw: Any) -> str | None:
    for tag in raw.get("tags") or []:
        term = tag.get("label") or tag.get("term")
        if term and one_line(str(term)):
            return one_line(str(term))
    return None


def _body(raw: Any) -> str:
    """The longest text the entry carries: full content (content:encoded, Atom content)
    usually, else the summary/description."""
    candidates = [str(c.get("value") or "") for c in raw.get("content") or []]
    candidates.append(str(raw.get("summary") or ""))
    texts = [html_to_text(c) for c in candidates if c.strip()]
    return max(texts, key=len, default="")


class _TextParser(HTMLParser):
    _BLOCKS = frozenset(
        "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article".split()
    )
    _SKIP = frozenset(("script", "style", "template"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)
