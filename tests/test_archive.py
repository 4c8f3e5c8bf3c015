"""``digest archive``: a static site over dated editions, its feeds, its Pagefind index, and
search in headless Chromium over a loopback HTTP server (Pagefind reads its index with
fetch(), so the site is served, not opened from file://)."""

from __future__ import annotations

import base64
import functools
import json
import os
from collections.abc import Iterator
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest
from support.cli import invoke
from support.serving import serving
from test_render import hostile_digest, make_digest, parse_tags

from digest.edition import write_edition
from digest.models import Digest, Summary

try:
    from support.browser import Chromium, find_chromium
except ImportError as exc:  # websocket-client is a test extra
    MISSING_CLIENT: str | None = f"websocket-client is not installed ({exc})"
else:
    MISSING_CLIENT = None

# One word in one story only, in each language: what the search test looks for.
NEEDLE = {"en": "Zanzibar", "ar": "الزعفران"}


def edition(day: date, codes: str = "en,ar", stories: int = 3, **kw: Any) -> Digest:
    digest = make_digest(codes, stories=stories, **kw).model_copy(update={"edition_date": day})
    results = []
    for result in digest.results:
        if result.article_id == digest.articles[1].id and result.lang in NEEDLE and result.summary:
            word = NEEDLE[result.lang]
            summary = Summary(
                headline=f"{result.summary.headline} {word}",
                summary=f"{word} {result.summary.summary}",
                key_points=result.summary.key_points,
            )
            result = result.model_copy(update={"summary": summary})
        results.append(result)
    return digest.model_copy(update={"results": results})


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "briefings"
    write_edition(edition(date(2024, 3, 12), "en,ar,tr"), folder / "2024-03-12", started=0.0)
    write_edition(edition(date(2024, 3, 13), stories=2), folder / "2024-03-13", started=0.0)
    return folder


def archive(capsys: pytest.CaptureFixture[str], out: Path, site: Path, *extra: str) -> Any:
    return invoke(capsys, "archive", str(out), "--site", str(site), *extra)


def test_every_edition_and_language_gets_a_page_an_index_and_feeds(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "public"
    result = archive(capsys, out, site)

    assert result.code == 0, result.err
    assert result.out.startswith(f"{site}/ (serve it over HTTP")
    assert "2 edition(s) in 3 language(s) (en, ar, tr), 5 page(s)" in result.out
    pages = sorted(p.relative_to(site).as_posix() for p in site.glob("*/*.html"))
    assert pages == [
        "ar/2024-03-12.html", "ar/2024-03-13.html", "ar/index.html",
        "en/2024-03-12.html", "en/2024-03-13.html", "en/index.html",
        "tr/2024-03-12.html", "tr/index.html",
    ]  # fmt: skip
    assert (site / "pagefind" / "pagefind-ui.js").is_file()
    front = (site / "index.html").read_text(encoding="utf-8")
    assert front.index("2024-03-13") < front.index("2024-03-12")  # newest first
    for code, direction in (("en", "ltr"), ("ar", "rtl"), ("tr", "ltr")):
        for page in site.glob(f"{code}/*.html"):
            html = page.read_text(encoding="utf-8")
            assert f'<html lang="{code}" dir="{direction}">' in html, page
        assert f'href="{code}/index.html" lang="{code}" dir="{direction}"' in front
    feed = feedparser.parse((site / "feed.ar.xml").read_bytes())
    assert not feed.bozo and feed.feed.language == "ar"
    # both editions, newest first; the same ids as the editions' own feeds
    own = feedparser.parse((out / "2024-03-12" / "feed.ar.xml").read_bytes())
    assert [e.id for e in feed.entries][-len(own.entries) :] == [e.id for e in own.entries]
    assert feed.entries[0].id.startswith("tag:localhost,2024-03-13:")
    assert json.loads((site / "feed.en.json").read_text(encoding="utf-8"))["items"]


def test_site_url_makes_absolute_feed_links(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "public"
    result = archive(capsys, out, site, "--site-url", "https://news.example.org/archive")

    assert result.code == 0, result.err
    feed = feedparser.parse((site / "feed.en.xml").read_bytes())
    assert feed.entries[0].link == "https://news.example.org/archive/en/2024-03-13.html"
    assert feed.entries[0].id.startswith("tag:news.example.org,2024-03-13:")


def test_a_rebuild_drops_removed_editions_and_never_touches_other_folders(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "public"
    assert archive(capsys, out, site).code == 0
    for path in (out / "2024-03-13").iterdir():
        path.unlink()
    (out / "2024-03-13").rmdir()
    (out / "2024-03-14").mkdir()  # an unfinished edition: no manifest yet

    again = archive(capsys, out, site)

    assert again.code == 3
    assert again.err.startswith("digest: warning: ") and "2024-03-14: no manifest.json" in again.err
    assert not (site / "en" / "2024-03-13.html").exists()
    assert (site / "en" / "2024-03-12.html").exists()
    assert not list(tmp_path.glob(".public.*"))  # no build or old folder left behind

    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    refused = archive(capsys, out, other)
    inside = archive(capsys, out, out / "site")
    empty = archive(capsys, tmp_path / "nothing-here", site)
    bad_url = archive(capsys, out, site, "--site-url", "javascript:alert(1)")

    for result in (refused, inside, empty, bad_url):
        assert result.code == 2
        assert len(result.err.strip().splitlines()) == 1, result.err
    assert "not empty and not a digest archive" in refused.err
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert "must be a folder apart from" in inside.err
    assert "no such folder" in empty.err
    assert "site_url: Value error, must be an http(s) URL" in bad_url.err


def test_hostile_text_is_inert_on_archive_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "briefings"
    write_edition(hostile_digest(), out / "2024-03-12", started=0.0)
    site = tmp_path / "public"

    assert archive(capsys, out, site).code == 0
    for page in [site / "index.html", *site.glob("en/*.html")]:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<img" not in html
        for name, attrs in parse_tags(html):
            assert name not in {"img", "iframe", "object", "embed", "form"}, (page, name)
            assert not [a for a in attrs if a.startswith("on")], (page, name, attrs)
            if name == "script":  # ours only, from the site itself
                assert attrs["src"].endswith(("pagefind/pagefind-ui.js", "archive.js")), attrs
            for attr in ("href", "src"):
                value = attrs.get(attr, "")
                assert not value.lower().startswith(("javascript:", "//")), attrs
                assert not value.startswith("data:") or value == "data:,", attrs  # no favicon
                if value.startswith(("http://", "https://")):
                    assert name == "a" and "noopener" in attrs.get("rel", ""), attrs


# --- in a real browser ---------------------------------------------------------------------

SEARCH = """
(async (word) => {
  const input = document.querySelector(".pagefind-ui__search-input");
  if (!input) return {error: "no search box"};
  input.value = word;
  input.dispatchEvent(new Event("input", {bubbles: true}));
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const links = [...document.querySelectorAll(".pagefind-ui__result-link")];
    if (links.length) {
      return {links: links.map((a) => ({href: a.getAttribute("href"), text: a.textContent.trim()})),
              dir: getComputedStyle(document.querySelector("#search")).direction};
    }
  }
  return {error: "no results", html: document.querySelector("#search").innerHTML.slice(0, 500)};
})
"""


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    reason = MISSING_CLIENT or (None if find_chromium() else "chromium not found")
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    with Chromium(tmp_path_factory.mktemp("chromium-profile"), find_chromium()) as browser:
        yield browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.browser
@pytest.mark.parametrize("code", ["ar", "en"])
def test_search_finds_the_one_story_with_the_word(
    code: str,
    out: Path,
    tmp_path: Path,
    chromium: Chromium,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = tmp_path / "public"
    assert archive(capsys, out, site).code == 0
    handler = functools.partial(QuietHandler, directory=str(site))
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        page = chromium.new_page(1000, 900, mobile=False)
        try:
            page.goto(f"{base}/{code}/index.html")
            assert page.evaluate("document.documentElement.dir") == (
                "rtl" if code == "ar" else "ltr"
            )
            found = page.evaluate(f"{SEARCH}({json.dumps(NEEDLE[code])})")
            assert "error" not in found, found
            # the viewport as it is (support's full-page clip shifts right-to-left pages)
            shot = page.send("Page.captureScreenshot", {"format": "png"})
            (tmp_path / f"search-{code}.png").write_bytes(base64.b64decode(shot["data"]))
            layout = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            errors = page.console_errors()
        finally:
            page.close()

    hrefs = [link["href"] for link in found["links"]]
    texts = " ".join(link["text"] for link in found["links"])
    story = out / "2024-03-13"  # the word is in story 1 of both editions
    assert NEEDLE[code] in texts
    # Each edition page is a result, and its sub-result points at the story's own heading.
    story_id = json.loads((story / "manifest.json").read_text(encoding="utf-8"))["articles"][1][
        "id"
    ]
    assert f"/{code}/2024-03-13.html#story-{story_id}" in hrefs, hrefs
    assert f"/{code}/2024-03-12.html#story-{story_id}" in hrefs, hrefs
    # no other story of either edition matches
    others = [h for h in hrefs if "#story-" in h and not h.endswith(story_id)]
    assert others == [], hrefs
    assert found["dir"] == ("rtl" if code == "ar" else "ltr")
    assert layout[0] <= layout[1]  # nothing wider than the window
    assert errors == [], errors
