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
from support.openai_server import FakeOpenAI, message_text
from support.paths import REPO

from digest.config import load_settings
from digest.ingest.gather import gather
from digest.ingest.stories import make_window
from digest.sections import SourceConfig

EXAMPLE = REPO / "examples" / "daily"
CONFIG = EXAMPLE / "digest.toml"
IN_BRIEF = {"en": "In brief", "tr": "Kısaca", "ar": "باختصار", "de": "Kurz gefasst"}
DESALINATION = "Port Hallam opens desalination plant to ease summer water shortages"
FERRY_TITLES = {
    "Grounded ferry Marit Sund refloated at high tide",
    "Ferry Marit Sund runs aground off Port Hallam, 12 injured",
    "Passengers brought ashore after ferry grounding at the harbour mouth",
    "Fähre Marit Sund vor Port Hallam auf Grund gelaufen",
}
SECTIONS = {
    "en": ("World", "More news"),
    "tr": ("Dünya", "Diğer haberler"),
    "ar": ("العالم", "أخبار أخرى"),
    "de": ("Welt", "Weitere Meldungen"),
}
SOURCES_3 = {"en": "3 sources", "tr": "3 kaynak", "ar": "المصادر (3)", "de": "3 Quellen"}
DIFFER = {
    "en": "Sources differ on the number injured: 12 (Serran Wire: World), 14 (",
    "tr": "Kaynaklar yaralı sayısı konusunda farklı: 12 (Serran Wire: World), 14 (",
    "ar": "تختلف المصادر حول عدد المصابين: 12 (Serran Wire: World), 14 (",
    "de": "Die Quellen nennen die Zahl der Verletzten unterschiedlich: 12 (Serran Wire: World), ",
}


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

    record = json.loads((edition / "stories.json").read_text(encoding="utf-8"))
    assert record["clustering"]["method"] == "lexical+embeddings"  # the endpoint has them
    stories = record["stories"]
    assert len(stories) == 4  # max_stories
    ferry, desalination = stories[0], stories[1]
    # One event, three outlets (two of them in English, one in German), four articles: one
    # story, summarised from all of them, ranked first.
    assert ferry["outlets"] == ["Serran Wire: World", "Port Hallam City News", "Küstenkurier"]
    assert {s["title"] for s in ferry["sources"]} == FERRY_TITLES
    assert {s["lang"] for s in ferry["sources"]} == {"en", "de"}
    assert ferry["prompt"] == "summarize-story@1" and ferry["update"] is None
    assert [s["label"] for s in ferry["sources"]] == ["A", "B", "C", "D"]
    assert ferry["sources"][0]["sentences"][0] == 1
    assert ferry["disagreements"] == [
        {
            "what": "injured",
            "kind": "figure",
            "values": [
                {"value": "12", "outlets": ["Serran Wire: World"]},
                {"value": "14", "outlets": ["Küstenkurier", "Port Hallam City News"]},
            ],
        }
    ]
    # The desalination story: one article in nearly the same words in two feeds.
    assert desalination["title"] == DESALINATION and desalination["sources_count"] == 2
    assert desalination["origins"] == [
        f"feed:{EXAMPLE / 'world.xml'}",
        f"feed:{EXAMPLE / 'city.atom'}",
    ]
    assert desalination["outlets"] == ["Serran Wire: World", "Port Hallam City News"]
    assert desalination["prompt"] is None  # one article: the single-article prompt
    assert [len(s["outlets"]) for s in stories[2:]] == [1, 1]
    assert [s["section"] for s in stories] == ["World", "World", None, None]
    assert all(s["url"] is None for s in stories)  # link-less entries: nothing to fetch

    manifest = json.loads((edition / "manifest.json").read_text(encoding="utf-8"))
    assert [lang["code"] for lang in manifest["languages"]] == list(IN_BRIEF)
    assert manifest["edition_date"] == edition.name
    assert manifest["clustering"]["method"] == "lexical+embeddings"
    assert manifest["stories"][0]["disagreements"] == ferry["disagreements"]
    assert {(b["lang"], b["status"]) for b in manifest["briefs"]} == {
        (lang, "published") for lang in IN_BRIEF
    }
    for lang, heading in IN_BRIEF.items():
        markdown = (edition / f"digest.{lang}.md").read_text(encoding="utf-8")
        world, more = SECTIONS[lang]
        assert markdown.index(f"## {heading}") < markdown.index(f"## {world}")
        assert markdown.index(f"## {world}") < markdown.index(f"## {more}")
        assert f"{SOURCES_3[lang]}: Serran Wire: World, Port Hallam City News, Küstenkurier" in (
            markdown
        )
        assert f"> {DIFFER[lang]}" in markdown
    text = (edition / "digest.en.txt").read_text(encoding="utf-8")
    assert "! Sources differ on the number injured: 12 (Serran Wire: World), 14" in text
    html = (edition / "digest.de.html").read_text(encoding="utf-8")
    assert "Die Quellen nennen die Zahl der Verletzten unterschiedlich: 12" in html

    # 10 feed entries (one a near-copy) + 4 seed files in 10 events; no source failed,
    # nothing was fetched.
    assert (
        "kept 4 of 14 stories (1 duplicate(s), 3 merged into multi-source stories, "
        "0 outside the window, 6 over the limit; grouped lexical+embeddings), "
        "0 source(s) skipped; wrote" in first.out
    )
    assert "published 16, withheld 0; 21 LLM call(s)" in first.out  # + the capability probe
    for noise in ("skipped", "feed's own text", "only http(s)", "no link"):
        assert noise not in first.err
    assert endpoint_env.chat_calls == 4 * 4 + 4  # a summary per story and language + briefs

    again = daily(capsys, "--config", str(CONFIG))
    assert again.code == 0, again.err
    assert endpoint_env.chat_calls == 20
    assert "0 LLM call(s)" in again.out and "20 cache hit(s)" in again.out


def test_the_next_day_links_the_update_and_leaves_out_what_was_told(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The README's two editions in a row: on the 16th the ferry story is an update of the
    15th's, summarised with the earlier summary in the prompt; stories the 15th told with
    nothing new are left out."""
    out = ["--out", str(tmp_path / "days"), "-l", "en,tr"]
    first = daily(capsys, "--config", str(CONFIG), "--date", "2025-09-15", *out)
    assert first.code == 0, first.err
    second = daily(capsys, "--config", str(CONFIG), "--date", "2025-09-16", *out)
    assert second.code == 0, second.err
    assert "3 already published, 1 update(s)" in second.out
    earlier = json.loads((tmp_path / "days" / "2025-09-15" / "stories.json").read_text("utf-8"))
    record = json.loads((tmp_path / "days" / "2025-09-16" / "stories.json").read_text("utf-8"))
    ferry = record["stories"][0]
    assert ferry["title"] == "Grounded ferry Marit Sund refloated at high tide"
    assert ferry["update"]["edition_date"] == "2025-09-15"
    assert ferry["update"]["story_id"] == earlier["stories"][0]["id"]
    assert set(ferry["update"]["headlines"]) == {"en", "tr"}
    told = {s["title"] for s in earlier["stories"]}
    assert not told & {s["title"] for s in record["stories"][1:]}
    # The story prompt carried the earlier summary; the new facts were checked as claims.
    asked = [
        message_text(m)
        for body in endpoint_env.requests
        for m in body["messages"]
        if "<<<EARLIER" in message_text(m) and m["role"] == "user"
    ]
    assert len(asked) == 1 and "2025-09-15" in asked[0]
    assert ferry["prompt"] == "summarize-story@1"
    for lang, word in (("en", "Update"), ("tr", "Güncelleme")):
        markdown = (tmp_path / "days" / "2025-09-16" / f"digest.{lang}.md").read_text("utf-8")
        headline = ferry["update"]["headlines"][lang]
        assert f"*{word} · " in markdown and headline.split()[0] in markdown


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
        str(EXAMPLE / "kuestenkurier.xml"),
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
    assert "kept 4 of 4 stories" in result.out
    assert endpoint_env.chat_calls == 4 + 1


def test_sample_feeds_need_no_network() -> None:
    """Atom entries without <link> get their tag: <id> as a link from feedparser; neither that
    nor an RSS guid may be fetched, and full-text entries are used without a warning."""
    requested: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda r: requested.append(str(r.url))]})
    sources = [
        SourceConfig(feed="world.xml").resolved(EXAMPLE),
        SourceConfig(feed="city.atom").resolved(EXAMPLE),
        SourceConfig(feed="kuestenkurier.xml").resolved(EXAMPLE),
    ]
    window = make_window("3650d", now=datetime.now())
    with client:
        gathered = gather(sources, client, window, max_tokens=3000)
    assert requested == []
    assert gathered.warnings == [] and gathered.skipped == 0
    assert gathered.found == 10 and len(gathered.candidates) == 10
    for candidate in gathered.candidates:
        assert candidate.article.url is None
        assert len(candidate.article.text.split()) >= 80
        assert candidate.category and candidate.article.published
