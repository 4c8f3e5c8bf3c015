"""Atom and JSON Feed, per language, for one edition (written with it) and for the archive.

Both are built from manifests through the renderer's own view model (``render.build_edition``:
text cleaned of control and bidi-override characters, links http(s) only), so an edition's
feed and the archive's carry the same entries under the same ids:

    entry id    tag:<authority>,<edition date>:<article id>/<lang>  (and .../brief/<lang> for
                the "in brief" overview). Article ids hash the article's text, so a re-rendered
                edition has the same ids and readers see no duplicates. The authority is the
                host of ``site_url``, else ``localhost``: set ``site_url`` before publishing.
    title       the published headline (a withheld story has no text in the reader's language
                and is left out)
    content     summary, key points and source link as escaped HTML in a lang/dir <div>
    link        the story on its archive page when ``site_url`` is set, else the source article

Atom is written by feedgen (lxml underneath: every string escaped, never concatenated XML);
JSON Feed 1.1 is a pydantic model of the spec serialised as JSON (no maintained library; the
installed feedparser 6.0 does not read JSON Feed, so tests check it against the model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from markupsafe import Markup
from pydantic import BaseModel, Field

from digest.fsutil import write_atomic
from digest.manifest import Manifest
from digest.output.strings import load_strings, strings_for
from digest.output.views import EditionView, build_edition

ARCHIVE_ENTRIES = 200  # an archive feed lists the newest entries only
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# What XML 1.0 cannot carry and display_line leaves: lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def archive_page(edition_date: str, code: str) -> str:
    """Where ``digest archive`` puts one edition in one language, relative to the site."""
    return f"{code}/{edition_date}.html"


def feed_name(code: str, kind: Literal["xml", "json"]) -> str:
    return f"feed.{code}.{kind}"


class FeedItem(BaseModel):
    """One entry, whichever format it is written in."""

    id: str
    title: str
    url: str | None  # where a reader goes: the archive page, else the source article
    source_url: str | None
    content_html: str
    summary: str
    published: datetime
    language: str


class JsonFeedItem(BaseModel):
    id: str
    url: str | None = None
    external_url: str | None = None
    title: str
    content_html: str
    summary: str
    date_published: datetime
    language: str


class JsonFeed(BaseModel):
    version: str = JSON_FEED_VERSION
    title: str
    home_page_url: str | None = None
    feed_url: str | None = None
    language: str
    items: list[JsonFeedItem] = Field(default=[])


def authority(site_url: str | None) -> str:
    return (urlsplit(site_url).hostname if site_url else None) or "localhost"


def entry_id(site_url: str | None, edition_date: str, article_id: str, code: str) -> str:
    return f"tag:{authority(site_url)},{edition_date}:{article_id}/{code}"


def edition_views(manifest: Manifest) -> list[EditionView]:
    """Every language of a recorded edition as the renderer sees it."""
    digest = manifest.as_digest()
    table = load_strings()
    codes = set(manifest.codes())
    return [
        build_edition(digest, lang, strings_for(table, lang))
        for lang in manifest.languages
        if lang.code in codes
    ]


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def items_of(manifest: Manifest, view: EditionView, site_url: str | None) -> list[FeedItem]:
    """The published stories of one edition in one language (and its overview, if any)."""
    day = manifest.edition_date.isoformat()
    page = f"{site_url}{archive_page(day, view.code)}" if site_url else None
    attrs = Markup(' lang="{}" dir="{}"').format(view.code, view.dir)
    items = []
    if view.brief:
        items.append(
            FeedItem(
                id=entry_id(site_url, day, "brief", view.code),
                title=f"{view.strings['in_brief']} — {view.title}, {view.date}",
                url=page,
                source_url=None,
                content_html=Markup("<div{}><p>{}</p></div>").format(attrs, view.brief),
                summary=view.brief,
                published=manifest.generated_at,
                language=view.code,
            )
        )
    for story in (s for section in view.sections for s in section.stories if s.published):
        points = Markup("").join(Markup("<li>{}</li>").format(p) for p in story.key_points)
        source = (
            Markup('<a href="{}">{}</a>').format(story.url, story.source_title)
            if story.url
            else story.source_title
        )
        items.append(
            FeedItem(
                id=entry_id(site_url, day, story.id, view.code),
                title=story.headline,
                url=f"{page}#story-{story.id}" if page else story.url,
                source_url=story.url,
                content_html=Markup("<div{}><p>{}</p><ul>{}</ul><p>{}: {}</p></div>").format(
                    attrs, story.summary, points, view.strings["source"], source
                ),
                summary=story.summary,
                published=manifest.generated_at,
                language=view.code,
            )
        )
    return items


class FeedMeta(BaseModel):
    id: str
    title: str
    language: str
    updated: datetime
    home_url: str | None = None
    self_url: str | None = None  # the Atom feed's own address (the JSON one beside it)


def atom_feed(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    generator = FeedGenerator()
    generator.id(meta.id)
    generator.title(_xml_text(meta.title))
    generator.author({"name": _xml_text(meta.title)})
    generator.language(meta.language)
    generator.updated(meta.updated)
    if meta.home_url:
        generator.link(href=meta.home_url, rel="alternate")
    if meta.self_url:
        generator.link(href=meta.self_url, rel="self")
    for item in items:
        entry = generator.add_entry(order="append")
        entry.id(item.id)
        entry.title(_xml_text(item.title))
        entry.published(item.published)
        entry.updated(item.published)
        entry.summary(_xml_text(item.summary))
        entry.content(_xml_text(item.content_html), type="html")
        if item.url:
            # One link: feedgen 1.0.0 drops the rel of entry links, so a second one (the
            # source, rel="related") would read as another alternate. The source is linked
            # in the content.
            entry.link(href=item.url)
    result: bytes = generator.atom_str(pretty=True)
    return result


def json_feed(meta: FeedMeta, items: list[FeedItem]) -> str:
    feed = JsonFeed(
        title=meta.title,
        home_page_url=meta.home_url,
        feed_url=meta.self_url.removesuffix(".xml") + ".json" if meta.self_url else None,
        language=meta.language,
        items=[
            JsonFeedItem(
                id=item.id,
                url=item.url,
                external_url=item.source_url if item.source_url != item.url else None,
                title=item.title,
                content_html=item.content_html,
                summary=item.summary,
                date_published=item.published,
                language=item.language,
            )
            for item in items
        ],
    )
    return feed.model_dump_json(indent=2, exclude_none=True) + "\n"


def write_feed_pair(folder: Path, meta: FeedMeta, items: list[FeedItem]) -> list[Path]:
    """``feed.<lang>.xml`` (Atom) and ``feed.<lang>.json`` (JSON Feed) in ``folder``."""
    return [
        write_atomic(folder / feed_name(meta.language, "xml"), atom_feed(meta, items)),
        write_atomic(folder / feed_name(meta.language, "json"), json_feed(meta, items)),
    ]


def write_edition_feeds(manifest: Manifest, folder: Path, site_url: str | None) -> list[Path]:
    """An edition's feeds, one pair per language, beside its other files."""
    day = manifest.edition_date.isoformat()
    files: list[Path] = []
    for view in edition_views(manifest):
        meta = FeedMeta(
            id=f"tag:{authority(site_url)},{day}:edition/{view.code}",
            title=f"{view.title} — {view.date}",
            language=view.code,
            updated=manifest.generated_at,
            home_url=f"{site_url}{archive_page(day, view.code)}" if site_url else None,
        )
        files += write_feed_pair(folder, meta, items_of(manifest, view, site_url))
    return files


def write_archive_feeds(
    editions: Iterable[tuple[Manifest, list[EditionView]]],
    folder: Path,
    site_url: str | None,
) -> list[Path]:
    """The archive's feeds: per language, the newest entries of every edition in it
    (``editions`` newest first), at the site's top."""
    by_lang: dict[str, list[FeedItem]] = {}
    titles: dict[str, str] = {}
    updated: dict[str, datetime] = {}
    oldest: dict[str, str] = {}
    for manifest, views in editions:
        for view in views:
            by_lang.setdefault(view.code, []).extend(items_of(manifest, view, site_url))
            titles.setdefault(view.code, view.title)
            updated.setdefault(view.code, manifest.generated_at)
            oldest[view.code] = manifest.edition_date.isoformat()
    files: list[Path] = []
    for code, items in by_lang.items():
        meta = FeedMeta(
            id=f"tag:{authority(site_url)},{oldest[code]}:archive/{code}",
            title=titles[code],
            language=code,
            updated=updated[code],
            home_url=f"{site_url}{code}/" if site_url else None,
            self_url=f"{site_url}{feed_name(code, 'xml')}" if site_url else None,
        )
        files += write_feed_pair(folder, meta, items[:ARCHIVE_ENTRIES])
    return files
