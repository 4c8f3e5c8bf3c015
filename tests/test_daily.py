"""`digest daily`: feeds, pages and folders in, one dated edition out. Everything is served
from 127.0.0.1: the news site by ``support.sites.Site``, the LLM by ``FakeOpenAI``."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.cli import Result
from support.cli import invoke as run_cli
from support.openai_server import FakeOpenAI, requested_kind
from support.paths import REPO
from support.sites import (
    STORIES,
    WIRE_LIBRARY,
    Item,
    NewsSite,
    Site,
    article_page,
    atom_feed,
    build_news_site,
    end_of_day,
    rss_feed,
)

from digest.errors import FeedError, FetchError, UsageError
from digest.ingest.events import Event, rank_events
from digest.ingest.feeds import html_to_text, parse_feed
from digest.ingest.fetch import USER_AGENT, fetch, make_http_client
from digest.ingest.files import make_article
from digest.ingest.sections import arrange, map_category, section_for
from digest.ingest.stories import (
    Candidate,
    Story,
    dedupe,
    make_window,
    normalize_url,
    parse_since,
    without_tracking,
)
from digest.models import Article

DAY = date(2025, 3, 14)
LANGS = "en,tr,ar"


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return run_cli(capsys, "daily", *args)


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as server:
        yield server


@pytest.fixture
def news(site: Site) -> NewsSite:
    return build_news_site(site, DAY)


def write_config(path: Path, news: NewsSite, out: Path) -> Path:
    path.write_text(
        f'languages = ["en", "tr", "ar"]\nout = "{out.as_posix()}"\n\n'
        f'[[sources]]\nfeed = "{news.rss}"\n\n'
        f'[[sources]]\nfeed = "{news.atom}"\nsection = "Around town"\n',
        encoding="utf-8",
    )
    return path


def summary_calls(fake: FakeOpenAI) -> int:
    return sum(requested_kind(body) == "summary" for body in fake.requests)


def files_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def article(text: str, **fields: Any) -> Article:
    return make_article(text, title=fields.pop("title", "A title"), source="test", **fields)


# --- stories: window, dedupe, rank, sections ----------------------------------------------


def test_normalize_url_ignores_case_fragment_tracking_and_trailing_slash() -> None:
    same = [
        "https://News.Example.ORG/a/story/?utm_source=rss&utm_medium=feed#comments",
        "http://news.example.org/a/story",
        "https://news.example.org:443/a/story/",
    ]
    assert len({normalize_url(u) for u in same}) == 1
    assert normalize_url("https://x.org/a?id=1&utm_campaign=z") == "//x.org/a?id=1"
    assert normalize_url("https://x.org/a?id=1") != normalize_url("https://x.org/a?id=2")
    assert without_tracking("https://X.org/a/?id=1&utm_source=rss#c") == "https://X.org/a/?id=1"
    assert normalize_url("https://x.org:8080/a") != normalize_url("https://x.org/a")


@pytest.mark.parametrize(
    ("text", "hours"), [("24h", 24), ("36h", 36), ("2d", 48), ("90m", 1.5), ("1w", 168)]
)
def test_parse_since(text: str, hours: float) -> None:
    assert parse_since(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "24", "yesterday", "-2d", "0h"])
def test_parse_since_rejects_nonsense(text: str) -> None:
    with pytest.raises(UsageError):
        parse_since(text)


def test_window_ends_at_the_end_of_the_edition_day_and_keeps_undated() -> None:
    window = make_window("24h", now=datetime(2030, 1, 1, tzinfo=UTC), day=DAY)
    end = end_of_day(DAY)
    assert window.contains(end - timedelta(hours=23))
    assert not window.contains(end - timedelta(hours=25))
    assert not window.contains(end + timedelta(minutes=1))  # tomorrow's news
    assert window.contains(None)
    open_ended = make_window("2d", now=datetime(2030, 1, 3, tzinfo=UTC))
    assert open_ended.end is None
    assert open_ended.contains(datetime(2030, 1, 1, 1, tzinfo=UTC))
    assert not open_ended.contains(datetime(2029, 12, 31, 23, tzinfo=UTC))


def test_dedupe_merges_same_url_and_near_same_text_and_counts_sources() -> None:
    bridge = article(STORIES["bridge"].text, url="https://a.org/bridge?utm_source=x")
    bridge_again = article(STORIES["bridge"].text + " Extra line.", url="https://A.org/bridge/")
    library = article(STORIES["library"].text, url="https://a.org/library")
    wire = article(WIRE_LIBRARY.text, url="https://wire.org/library-evenings")
    ferry = article(STORIES["ferry"].text, url="https://a.org/ferry")
    stories, merged = dedupe(
        [
            Candidate(article=bridge, origins=["feed:a"]),
            Candidate(article=library, origins=["feed:a"]),
            Candidate(article=bridge_again, origins=["feed:b"]),
            Candidate(article=wire, origins=["feed:wire"]),
            Candidate(article=ferry, origins=["feed:a"]),
        ]
    )
    assert merged == 2
    assert [s.article.id for s in stories] == [bridge.id, library.id, ferry.id]
    assert [s.sources_count for s in stories] == [2, 2, 1]


def test_rank_puts_stories_from_more_outlets_and_fresher_ones_first() -> None:
    now = datetime(2025, 3, 14, 12, tzinfo=UTC)
    window = make_window("24h", now=now)

    def event(slug: str, hours_ago: float | None, outlets: list[str]) -> Event:
        when = now - timedelta(hours=hours_ago) if hours_ago is not None else None
        story = Story(article=article(STORIES[slug].text, published=when), origins=["a"])
        return Event(members=[story], outlets=outlets)

    ranked = rank_events(
        [
            event("ferry", 1, ["a.org"]),
            event("library", None, ["a.org"]),
            event("bridge", 10, ["a.org", "b.org"]),  # 0.58 fresh + 0.5 for the second outlet
            event("park", 6, ["a.org"]),
        ],
        window,
        now,
    )
    order = [e.lead.text[:20] for e in ranked]
    expected = ["bridge", "ferry", "park", "library"]
    assert order == [STORIES[slug].text[:20] for slug in expected]
    assert ranked[-1].score == 0.0  # undated: no freshness


def test_sections_come_from_config_then_categories_and_lone_stories_go_to_more_news() -> None:
    sections = ["World", "Politics", "Business", "Technology", "Science", "Sport", "Culture"]
    assert map_category("Economy & Markets", sections, {}) == "Business"
    assert map_category("Fußball", sections, {}) == "Sport"
    assert map_category("Regionales", sections, {"regionales": "World"}) == "World"
    assert map_category("Regionales", sections, {}) is None
    assert map_category("culture", sections, {}) == "Culture"  # a section's own name

    def event(slug: str, section: str | None, category: str | None, score: float) -> Event:
        story = Story(
            article=article(STORIES[slug].text, section=section),
            origins=["a"],
            category=category,
        )
        return Event(members=[story], outlets=["a.org"], score=score)

    events = [
        event("bridge", None, "Transport", 0.9),
        event("library", None, "Arts", 0.8),
        event("ferry", "Around town", "World", 0.7),  # the source's configured section wins
        event("park", None, "Culture", 0.6),
        event("night-market", None, "Politics", 0.5),
    ]
    for e in events:
        e.section = section_for(e, sections, {})
    assert [e.section for e in events] == [None, "Culture", "Around town", "Culture", "Politics"]
    arranged = arrange(events, sections, min_stories=2)
    # Culture (2 stories) keeps its heading; the lone Politics and Around town stories join
    # "More news" at the end, best first.
    assert [e.section for e in arranged] == ["Culture", "Culture", None, None, None]
    assert [e.score for e in arranged] == [0.8, 0.6, 0.9, 0.7, 0.5]
    assert [e.section for e in arrange(events[:1], sections, 1)] == [None]


# --- fetching -----------------------------------------------------------------------------


def test_fetch_follows_redirects_and_reports_every_bad_page(site: Site) -> None:
    page = article_page(STORIES["ferry"])
    site.add("/ok", page)
    site.redirect("/moved", "/ok", status=301)
    site.redirect("/loop/a", "/loop/b")
    site.redirect("/loop/b", "/loop/a")
    site.add("/big", b"x" * 2000)
    site.add("/big-streamed", b"x" * 2000, send_length=False)
    site.add("/doc.pdf", b"%PDF-1.4", content_type="application/pdf")
    site.add("/slow", page, delay=5)
    site.add("/error", "oops", status=500)
    with make_http_client() as client:
        fetched = fetch(client, site.url("/moved"))
        assert fetched.url == site.url("/ok") and fetched.content == page.encode()
        assert fetched.content_type == "text/html"
        expected = {
            "/missing": "HTTP 404",
            "/error": "HTTP 500",
            "/loop/a": "too many redirects",
            "/big": "over the 1,000 limit",
            "/big-streamed": "more than 1,000 bytes",
            "/doc.pdf": "not an HTML page (Content-Type application/pdf)",
        }
        for path, message in expected.items():
            with pytest.raises(FetchError) as info:
                fetch(client, site.url(path), max_bytes=1000)
            assert message in info.value.message and site.url(path) in info.value.message
        with pytest.raises(FetchError, match="only http"):
            fetch(client, "file:///etc/passwd")
    with make_http_client(timeout=0.2) as quick, pytest.raises(FetchError, match="timed out"):
        fetch(quick, site.url("/slow"))
    assert site.hits["/loop/a"] + site.hits["/loop/b"] == 6  # the first try and 5 redirects
    assert set(site.user_agents) == {USER_AGENT} and USER_AGENT.startswith("digest/")


def test_unreachable_host_is_a_fetch_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with make_http_client() as client, pytest.raises(FetchError, match="cannot fetch"):
        fetch(client, f"http://127.0.0.1:{port}/feed.xml", kind="feed")


# --- feeds --------------------------------------------------------------------------------


def test_rss_and_atom_entries_come_out_alike() -> None:
    when = datetime(2025, 3, 14, 8, 30, tzinfo=UTC)
    items = [
        Item("Bridge &amp; ramps", "/news/bridge", when, "Transport", summary="<b>Short</b> one."),
        Item("No date", "https://x.org/n", None, content="<p>One.</p><p>Two &amp; three.</p>"),
    ]
    rss = parse_feed(rss_feed("Gazette", items).encode(), source="https://x.org/rss.xml")
    assert rss.title == "Gazette"
    first, second = rss.entries
    assert first.link == "https://x.org/news/bridge"  # relative link resolved
    assert first.published == when and first.category == "Transport"
    assert first.title == "Bridge & ramps" and first.text == "Short one."
    assert second.published is None and second.text == "One.\n\nTwo & three."
    atom = parse_feed(atom_feed("Wire", items[:1]).encode(), source="https://x.org/atom.xml")
    assert atom.entries[0].published == when
    assert atom.entries[0].category == "Transport"
    assert atom.entries[0].link == "https://x.org/news/bridge"


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(article_page(STORIES["park"]).encode(), source="https://x.org/page")
    assert html_to_text("<p>a<script>alert(1)</script></p><p>b</p>") == "a\n\nb"


# --- the edition, end to end --------------------------------------------------------------


def test_daily_edition_end_to_end(
    news: NewsSite,
    site: Site,
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "digest.toml", news, tmp_path / "editions")
    result = invoke(capsys, "--config", str(config), "--date", DAY.isoformat())
    assert result.code == 3, result.err  # 4 pages skipped
    edition = tmp_path / "editions" / "2025-03-14"
    names = {p.name for p in edition.iterdir()}
    for lang in LANGS.split(","):
        assert {f"digest.{lang}.md", f"digest.{lang}.html", f"digest.{lang}.txt"} <= names
    assert {"index.html", "manifest.json", "stories.json"} <= names

    manifest = json.loads((edition / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["edition_date"] == "2025-03-14"
    titles = {a["title"] for a in manifest["articles"]}
    kept = ["bridge", "library", "ferry", "night-market", "tram-depot", "park"]
    assert titles == {STORIES[slug].title for slug in kept}
    urls = {a["title"]: a["url"] for a in manifest["articles"]}
    assert urls[STORIES["ferry"].title] == site.url("/news/ferry")  # where the redirect led
    assert urls[STORIES["bridge"].title] == site.url("/news/bridge")  # no utm_* for readers
    assert all(r["status"] == "published" for r in manifest["results"])
    assert len(manifest["results"]) == 6 * 3
    assert {(b["lang"], b["status"]) for b in manifest["briefs"]} == {
        ("en", "published"),
        ("tr", "published"),
        ("ar", "published"),
    }

    record = json.loads((edition / "stories.json").read_text(encoding="utf-8"))
    assert record["clustering"]["method"] == "lexical+embeddings"  # the endpoint serves them
    stories = record["stories"]
    by_title = {s["title"]: s for s in stories}
    assert by_title[STORIES["bridge"].title]["sources_count"] == 2  # RSS and Atom
    assert by_title[STORIES["library"].title]["sources_count"] == 2  # and the wire's copy
    # One site is one outlet, however many of its feeds carry an article: no story here is
    # told by several outlets, so each is summarised from its own article.
    assert all(s["outlets"] == ["127.0.0.1"] and s["prompt"] is None for s in stories)
    # The Atom source's configured section; the lone Culture story (Culture: the feed's
    # category) and the rest go to "More news", best first.
    assert [s["section"] for s in stories] == ["Around town"] * 3 + [None] * 3
    assert stories[3]["title"] == STORIES["night-market"].title

    english = (edition / "digest.en.md").read_text(encoding="utf-8")
    for heading in ("## In brief", "## Around town", "## More news"):
        assert heading in english
    assert english.index("## In brief") < english.index("## Around town")
    assert english.index("## Around town") < english.index("## More news")
    turkish = (edition / "digest.tr.md").read_text(encoding="utf-8")
    assert "## Kısaca" in turkish and "## Diğer haberler" in turkish
    assert "## باختصار" in (edition / "digest.ar.md").read_text(encoding="utf-8")

    # Outside the window: never fetched. The same URL from two feeds: fetched once.
    assert news.page_hits("council-budget") == 0 and news.page_hits("three-days-old") == 0
    assert news.page_hits("bridge") == 1
    assert set(site.user_agents) == {USER_AGENT}
    assert endpoint_env.chat_calls == 6 * 3 + 3

    for expected in (
        "vanished: HTTP 404 (skipped)",
        "night-market: HTTP 404; used the feed's own text instead",
        "loop/a: too many redirects",
        "huge: 6,",
        "report.pdf: not an HTML page",
    ):
        assert expected in result.err
    assert (
        "kept 6 of 14 stories (2 duplicate(s), 0 merged into multi-source stories, "
        "2 outside the window, 0 over the limit; grouped lexical+embeddings), "
        "4 source(s) skipped; 13 request(s), 0 unchanged (304)" in result.out
    )
    # 21 answers and the capability probe.
    assert "published 18, withheld 0; 22 LLM call(s)" in result.out


def test_same_day_rerun_is_free_and_yesterday_stays_untouched(
    news: NewsSite, endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "digest.toml", news, tmp_path / "editions")
    yesterday = (DAY - timedelta(days=1)).isoformat()
    first = invoke(capsys, "--config", str(config), "--date", yesterday, "--lang", "en")
    assert first.code == 0, first.err
    old = tmp_path / "editions" / yesterday
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    titles = {a["title"] for a in manifest["articles"]}
    assert titles == {STORIES["council-budget"].title, STORIES["park"].title}
    before = files_of(old)

    today = invoke(capsys, "--config", str(config), "--date", DAY.isoformat(), "--lang", "en")
    assert today.code == 3
    # The undated park story was in yesterday's edition and nothing new came: left out.
    assert "1 already published" in today.out
    calls = endpoint_env.chat_calls
    again = invoke(capsys, "--config", str(config), "--date", DAY.isoformat(), "--lang", "en")
    assert again.code == 3
    assert endpoint_env.chat_calls == calls  # every summary and brief came from the cache
    assert "0 LLM call(s)" in again.out and "6 cache hit(s)" in again.out
    assert files_of(old) == before


def test_max_stories_keeps_the_best_ranked_here_the_freshest(
    news: NewsSite, endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "digest.toml", news, tmp_path / "editions")
    result = invoke(
        capsys, "--config", str(config), "--date", DAY.isoformat(), "-l", "en", "--max-stories", "2"
    )
    assert result.code == 3
    manifest = json.loads(
        (tmp_path / "editions" / "2025-03-14" / "manifest.json").read_text(encoding="utf-8")
    )
    # Every story comes from the one site (one outlet each): the freshest win.
    assert [a["title"] for a in manifest["articles"]] == [
        STORIES["tram-depot"].title,
        STORIES["night-market"].title,
    ]
    assert "4 over the limit" in result.out


def test_urls_folders_and_feed_files_from_flags(
    site: Site, endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site.add("/news/ferry", article_page(STORIES["ferry"]))
    site.add("/news/park", article_page(STORIES["park"]))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fresh = (end_of_day(DAY) - timedelta(hours=3)).date().isoformat()
    (inbox / "depot.md").write_text(
        f"---\ndate: {fresh}\nsection: Markets\n---\n# {STORIES['tram-depot'].title}\n\n"
        + STORIES["tram-depot"].text,
        encoding="utf-8",
    )
    (inbox / "old.md").write_text(
        f"---\ndate: 2020-01-01\n---\n# {STORIES['council-budget'].title}\n\n"
        + STORIES["council-budget"].text,
        encoding="utf-8",
    )
    feed_file = tmp_path / "local.xml"
    items = [Item(STORIES["park"].title, site.url("/news/park"), None, "Parks")]
    feed_file.write_text(rss_feed("Local", items), encoding="utf-8")
    result = invoke(
        capsys,
        "--url",
        site.url("/news/ferry"),
        "--folder",
        str(inbox),
        "--feed",
        str(feed_file),
        "--date",
        DAY.isoformat(),
        "-l",
        "en",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.code == 0, result.err
    manifest = json.loads((tmp_path / "out" / "2025-03-14" / "manifest.json").read_text("utf-8"))
    sections = {a["title"]: a["section"] for a in manifest["articles"]}
    # The file's "Markets" maps to Business, the feed's "Parks" to no section; Business has
    # one story only, so every story is in the one group without a heading.
    assert sections == {
        STORIES["ferry"].title: None,
        STORIES["tram-depot"].title: None,
        STORIES["park"].title: None,
    }
    english = (tmp_path / "out" / "2025-03-14" / "digest.en.md").read_text("utf-8")
    assert english.count("\n## ") == 1  # "In brief" only
    assert "1 outside the window" in result.out


def test_unreachable_feed_still_writes_an_empty_edition(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    missing = tmp_path / "nowhere.xml"
    result = invoke(
        capsys,
        "--feed",
        f"http://127.0.0.1:{port}/rss.xml",
        "--feed",
        str(missing),
        "--folder",
        str(tmp_path / "no-such-folder"),
        "--date",
        DAY.isoformat(),
        "--out",
        str(tmp_path / "out"),
    )
    assert result.code == 3
    assert "3 source(s) skipped" in result.out
    assert "nowhere.xml: no such file (skipped)" in result.err
    assert (tmp_path / "out" / "2025-03-14" / "digest.en.md").is_file()
    assert endpoint_env.chat_calls == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no sources"),
        (("--feed", "x.xml", "--since", "soon"), "cannot read --since"),
        (("--feed", "x.xml", "--date", "14/03/2025"), "cannot read --date"),
    ],
)
def test_usage_errors_exit_2(
    args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(capsys, *args)
    assert result.code == 2
    assert message in result.err


def test_help_explains_and_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    result = invoke(capsys, "--help")
    assert result.code == 0
    for text in ("--feed", "--batch", "--since", "Examples:", "digest daily --config", "Exit"):
        assert text in result.out


def test_injected_client_is_used_and_left_open(
    site: Site, endpoint_env: FakeOpenAI, tmp_path: Path
) -> None:
    from digest.config import load_settings
    from digest.daily import run_daily
    from digest.sections import SourceConfig

    site.add("/news/park", article_page(STORIES["park"]))
    settings = load_settings({"out": tmp_path / "out", "languages": ["en"]})
    seen: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda r: seen.append(str(r.url))]})
    with client:
        outcome = run_daily(
            settings, [SourceConfig(urls=[site.url("/news/park")])], edition_date=DAY, http=client
        )
        assert not client.is_closed
    assert seen == [site.url("/news/park")]
    assert outcome.stats.kept == 1 and int(outcome.exit_code) == 0


def test_example_config_is_complete_and_valid() -> None:
    from digest.config import FLAT_KEYS, Settings, load_settings
    from digest.sections import SmtpSettings

    path = REPO / "examples" / "digest.toml"
    settings = load_settings(config_file=path, env={})
    sources = settings.daily.sources
    assert [bool(s.feed) for s in sources] == [True, True, True, False, False]
    assert sources[3].urls and sources[4].folder == str(path.parent / "inbox")
    # Every setting is shown (set or commented out), so the example stays complete.
    text = path.read_text(encoding="utf-8")
    sections = {"endpoint", "budget", "cache", "smtp", "mail", "daily", "config_file"}
    names = [n for n in Settings.model_fields if n not in sections] + list(FLAT_KEYS)
    names += [f.alias or n for n, f in SmtpSettings.model_fields.items() if n != "password"]
    missing = [
        name
        for name in names
        if not any(s in text for s in (f"{name} =", f"[{name}.", f"[[{name}]]", f"[{name}]"))
    ]
    assert missing == ["api_key"], missing  # a key belongs in the environment
