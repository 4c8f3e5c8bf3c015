"""The README's `digest daily` example (examples/daily/) runs offline, from any directory,
end to end against the loopback ``FakeOpenAI``: two sample feeds and the seeds/ folder in,
one dated edition in four languages out, and a same-day re-run makes no LLM call."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from support.cli import Result, invoke
from support.openai_server import FakeOpenAI
from support.paths import REPO

from digest.config import SourceConfig, load_settings
from digest.ingest.gather import gather
from digest.ingest.stories import make_window

EXAMPLE = REPO / "examples" / "daily"
CONFIG = EXAMPLE / "digest.toml"
IN_BRIEF = {"en": "In brief", "tr": "Kısaca", "ar": "باختصار", "de": "Kurz gefasst"}
DESALINATION = "Port Hallam opens desalination plant to ease summer water shortages"


def daily(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return invoke(capsys, "daily", *args)


def test_example_config_builds_the_edition_offline_from_another_directory(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # conftest runs every test in tmp_path: the config's relative feeds and folder must be
    # found next to the config file, while its `out = "briefings"` lands here.
    assert Path.cwd() == tmp_path
    before = date.today()
    first = daily(capsys, "--config", str(CONFIG))
    days = {before.isoformat(), date.today().isoformat()}  # the run may cross midnight
    assert first.code == 0, first.err
    editions = list((tmp_path / "briefings").iterdir())
    assert len(editions) == 1 and editions[0].name in days
    edition = editions[0]
    names = {p.name for p in edition.iterdir()}
    for lang in IN_BRIEF:
        assert {f"digest.{lang}.md", f"digest.{lang}.html", f"digest.{lang}.txt"} <= names
    assert {"index.html", "manifest.json", "stories.json"} <= names

    stories = json.loads((edition / "stories.json").read_text(encoding="utf-8"))
    assert len(stories) == 4  # max_stories
    assert stories[0]["title"] == DESALINATION
    assert stories[0]["sources_count"] == 2
    assert stories[0]["sources"] == [
        f"feed:{EXAMPLE / 'world.xml'}",
        f"feed:{EXAMPLE / 'city.atom'}",
    ]
    assert [s["sources_count"] for s in stories[1:]] == [1, 1, 1]
    sections = [s["section"] for s in stories]
    assert None not in sections and len(set(sections)) >= 2
    assert all(s["url"] is None for s in stories)  # link-less entries: nothing to fetch

    manifest = json.loads((edition / "manifest.json").read_text(encoding="utf-8"))
    assert [lang["code"] for lang in manifest["languages"]] == list(IN_BRIEF)
    assert manifest["edition_date"] == edition.name
    assert {(b["lang"], b["status"]) for b in manifest["briefs"]} == {
        (lang, "published") for lang in IN_BRIEF
    }
    for lang, heading in IN_BRIEF.items():
        markdown = (edition / f"digest.{lang}.md").read_text(encoding="utf-8")
        assert f"## {heading}" in markdown
        assert markdown.index(f"## {heading}") < markdown.index(f"## {sections[0]}")
        for section in set(sections):
            assert f"## {section}" in markdown

    # 4 feed entries + 1 near-copy + 4 seed files; no source failed, nothing was fetched.
    assert (
        "kept 4 of 10 stories (1 duplicate(s), 0 outside the window, 5 over the limit), "
        "0 source(s) skipped" in first.out
    )
    assert "published 16, withheld 0; 21 LLM call(s)" in first.out  # + the capability probe
    for noise in ("skipped", "feed's own text", "only http(s)", "no link"):
        assert noise not in first.err
    assert endpoint_env.chat_calls == 4 * 4 + 4  # a summary per story and language + briefs

    again = daily(capsys, "--config", str(CONFIG))
    assert again.code == 0, again.err
    assert endpoint_env.chat_calls == 20
    assert "0 LLM call(s)" in again.out and "20 cache hit(s)" in again.out


def test_config_paths_are_read_from_the_config_folder_and_flag_paths_from_cwd(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    configured = load_settings(config_file=CONFIG, env={}).daily.sources
    resolved = [
        *configured,
        *(
            s.resolved(CONFIG.parent)
            for s in (SourceConfig(feed="https://example.org/rss.xml"), SourceConfig(feed="/a"))
        ),
    ]
    assert [s.feed or s.folder for s in resolved] == [
        str(EXAMPLE / "world.xml"),
        str(EXAMPLE / "city.atom"),
        str(REPO / "seeds"),
        "https://example.org/rss.xml",
        "/a",
    ]

    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "city.atom").write_bytes((EXAMPLE / "city.atom").read_bytes())
    result = daily(
        capsys, "--feed", "feeds/city.atom", "--since", "3650d", "-l", "en", "--out", "out"
    )
    assert result.code == 0, result.err
    assert "kept 3 of 3 stories" in result.out
    assert endpoint_env.chat_calls == 3 + 1


def test_sample_feeds_need_no_network() -> None:
    """Atom entries without <link> get their tag: <id> as a link from feedparser; neither that
    nor an RSS guid may be fetched, and full-text entries are used without a warning."""
    requested: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda r: requested.append(str(r.url))]})
    sources = [
        SourceConfig(feed="world.xml").resolved(EXAMPLE),
        SourceConfig(feed="city.atom").resolved(EXAMPLE),
    ]
    window = make_window("3650d", now=datetime.now())
    with client:
        gathered = gather(sources, client, window, max_tokens=3000)
    assert requested == []
    assert gathered.warnings == [] and gathered.skipped == 0
    assert gathered.found == 6 and len(gathered.candidates) == 6
    for candidate in gathered.candidates:
        assert candidate.article.url is None
        assert len(candidate.article.text.split()) >= 120
        assert candidate.article.section and candidate.article.published
