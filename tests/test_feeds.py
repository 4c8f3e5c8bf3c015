"""Atom and JSON feeds written with every edition: parsed back by feedparser (the same
library the daily edition reads feeds with), stable ids across re-renders, hostile model
text inert, links http(s) only, right-to-left content marked."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import feedparser
from test_render import assert_inert_html, hostile_digest, make_digest

from digest.edition import write_edition
from digest.models import Digest


def render(digest: Digest, folder: Path) -> Path:
    write_edition(digest, folder, started=0.0)
    return folder


def parsed(folder: Path, code: str, kind: str) -> Any:
    """Atom through feedparser; JSON Feed (which feedparser 6.0 cannot read) checked against
    the spec's required members and returned in the same shape."""
    data = (folder / f"feed.{code}.{kind}").read_bytes()
    if kind == "xml":
        return feedparser.parse(data)
    feed = json.loads(data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"]
    for item in feed["items"]:
        assert item["id"] and (item.get("content_html") or item.get("content_text"))
    entries = [SimpleNamespace(link=i.get("url", ""), links=[], **i) for i in feed["items"]]
    return SimpleNamespace(version="json11", bozo=False, entries=entries, feed=feed)


def test_every_language_gets_an_atom_and_a_json_feed(tmp_path: Path) -> None:
    digest = make_digest("en,ar", stories=3, withheld={(1, "ar")})
    folder = render(digest, tmp_path / "out")

    for code in ("en", "ar"):
        atom, jsonfeed = parsed(folder, code, "xml"), parsed(folder, code, "json")
        assert atom.version == "atom10" and not atom.bozo, atom.get("bozo_exception")
        assert jsonfeed.version == "json11" and not jsonfeed.bozo
        assert [e.id for e in atom.entries] == [e.id for e in jsonfeed.entries]
        assert [e.title for e in atom.entries] == [e.title for e in jsonfeed.entries]
    en, ar = parsed(folder, "en", "xml"), parsed(folder, "ar", "xml")
    # the "in brief" overview, then every published story; ar has one story withheld
    assert len(en.entries) == 1 + 3 and len(ar.entries) == 1 + 2
    assert en.entries[0].id == "tag:localhost,2024-03-12:brief/en"
    article = digest.articles[0].id
    assert en.entries[1].id == f"tag:localhost,2024-03-12:{article}/en"
    assert en.entries[1].title == digest.results[0].summary.headline  # type: ignore[union-attr]
    assert en.entries[1].link == digest.articles[0].url
    assert ar.feed.language == "ar"
    assert 'dir="rtl"' in ar.entries[1].content[0].value
    assert 'lang="ar"' in ar.entries[1].content[0].value
    raw = json.loads((folder / "feed.ar.json").read_text(encoding="utf-8"))
    assert raw["version"] == "https://jsonfeed.org/version/1.1" and raw["language"] == "ar"
    assert all(item["language"] == "ar" for item in raw["items"])


def test_a_re_rendered_edition_keeps_its_entry_ids(tmp_path: Path) -> None:
    first = render(make_digest("en,tr", stories=2), tmp_path / "one")
    later = make_digest("en,tr", stories=2).model_copy(
        update={"generated_at": datetime(2024, 3, 12, 9, 45, tzinfo=UTC)}
    )
    second = render(later, tmp_path / "two")

    for code in ("en", "tr"):
        for kind in ("xml", "json"):
            ids = [e.id for e in parsed(first, code, kind).entries]
            assert ids == [e.id for e in parsed(second, code, kind).entries]
            assert len(set(ids)) == len(ids) == 3


def test_site_url_links_entries_to_their_archive_pages(tmp_path: Path) -> None:
    digest = make_digest("en", stories=1).model_copy(
        update={"site_url": "https://news.example.org/archive/"}
    )
    folder = render(digest, tmp_path / "out")

    entry = parsed(folder, "en", "xml").entries[1]
    article = digest.articles[0]
    assert entry.id == f"tag:news.example.org,2024-03-12:{article.id}/en"
    assert entry.link == f"https://news.example.org/archive/en/2024-03-12.html#story-{article.id}"
    assert html.escape(article.url or "") in entry.content[0].value  # linked in the content
    item = json.loads((folder / "feed.en.json").read_text(encoding="utf-8"))["items"][1]
    assert item["external_url"] == article.url


def test_hostile_model_text_stays_inert_and_bad_links_are_dropped(tmp_path: Path) -> None:
    folder = render(hostile_digest(), tmp_path / "out")

    raw = (folder / "feed.en.xml").read_text(encoding="utf-8")
    assert "<script" not in raw and "<img" not in raw
    for kind in ("xml", "json"):
        feed = parsed(folder, "en", kind)
        for entry in feed.entries:
            # feedparser sanitises on its own; read what we wrote, before any sanitiser
            assert "javascript" not in getattr(entry, "link", "")
            assert all("javascript" not in link.href for link in getattr(entry, "links", []))
    data = json.loads((folder / "feed.en.json").read_text(encoding="utf-8"))
    for item in data["items"]:
        assert_inert_html(item["content_html"])
        assert "&lt;script&gt;" in item["content_html"] or "script" not in item["content_html"]
        for key in ("url", "external_url"):
            assert item.get(key, "https://").startswith(("https://", "http://"))
