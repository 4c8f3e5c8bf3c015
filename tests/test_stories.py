"""`digest daily` tells stories, not articles: one story per event from every outlet that
reports it, with its sources listed, where they disagree, updates across editions, sections,
embeddings from the endpoint, conditional GET and per-host limits. Everything is served
from loopback: news sites by ``support.sites.Site`` (127.0.0.1 and 127.0.0.2 are two
hosts), the LLM and its embeddings by ``FakeOpenAI``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from support.cli import Result
from support.cli import invoke as run_cli
from support.openai_server import FakeOpenAI, Fault, message_text
from support.paths import REPO
from support.sites import STORIES, Item, Site, article_page, end_of_day, rss_feed

from digest.checks.claims import CITED_NUMBERS, SUPPORT
from digest.config import load_settings
from digest.evidence import evaluate
from digest.ingest.clusters import LEXICAL_THRESHOLD, Tuning, cluster_articles
from digest.ingest.fetch import HostLimits
from digest.ingest.gather import gather
from digest.ingest.stories import make_window
from digest.models import Article, Claim, StoryPart, Summary
from digest.sections import SourceConfig
from digest.story_sources import StorySources

DAY = date(2025, 3, 14)
FIRE_A = (
    "Warehouse fire at the Eastport docks injures seven",
    "A fire broke out in a grain warehouse at the Eastport docks on Tuesday night, injuring "
    "seven workers, the fire brigade said.\n\nAbout 60 firefighters fought the blaze for five "
    "hours before it was under control.\n\nFire chief Lena Marsh said the cause was not yet "
    "known.\n\nThe warehouse, owned by the Norrvik Grain Company, stored 2,400 tonnes of "
    "wheat.\n\nPort operations resumed on Wednesday morning, a spokesman for the port said.",
)
FIRE_B = (
    "Blaze guts Eastport grain store",
    "Nine people were injured when fire gutted a grain store at the Eastport docks late on "
    "Tuesday, according to the port authority.\n\nSome 60 firefighters needed five hours to "
    "bring the flames under control.\n\nThe building belongs to the Norrvik Grain Company and "
    "held 2,400 tonnes of wheat, chief Lena Marsh told reporters.\n\nThe cause is under "
    "investigation, and the dock road stays closed until Thursday.",
)


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return run_cli(capsys, "daily", *args)


def page(title: str, text: str) -> str:
    from support.sites import StoryText

    return article_page(StoryText("x", title, tuple(text.split("\n\n"))))


@pytest.fixture
def two_sites() -> Iterator[tuple[Site, Site]]:
    with Site() as gazette, Site("127.0.0.2") as wire:
        yield gazette, wire


def publish(gazette: Site, wire: Site, *, etag: bool = False) -> tuple[str, str]:
    """The fire at both outlets in their own words, and one more story each."""
    end = end_of_day(DAY)

    def validators(path: str) -> dict[str, str]:
        return {"etag": f'"{path}-v1"'} if etag else {}

    for site, (title, text), other in (
        (gazette, FIRE_A, "library"),
        (wire, FIRE_B, "ferry"),
    ):
        site.add("/news/fire", page(title, text), **validators("fire"))
        site.add(f"/news/{other}", article_page(STORIES[other]), **validators(other))
        items = [
            Item(title, site.url("/news/fire"), end - timedelta(hours=6), "Local"),
            Item(STORIES[other].title, site.url(f"/news/{other}"), end - timedelta(hours=3)),
        ]
        feed = rss_feed(site.host, items)
        site.add("/rss.xml", feed, content_type="application/rss+xml", **validators("rss"))
    return gazette.url("/rss.xml"), wire.url("/rss.xml")


def config(tmp_path: Path, feeds: tuple[str, ...], extra: str = "") -> Path:
    path = tmp_path / "digest.toml"
    sources = "".join(f'[[sources]]\nfeed = "{feed}"\n\n' for feed in feeds)
    path.write_text(
        f'languages = ["en", "tr"]\nout = "{(tmp_path / "out").as_posix()}"\n\n'
        + sources
        + f"[daily]\n{extra}",
        encoding="utf-8",
    )
    return path


def stories_of(tmp_path: Path, day: date = DAY) -> dict[str, object]:
    path = tmp_path / "out" / day.isoformat() / "stories.json"
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- one story from several outlets -------------------------------------------------------


def test_two_outlets_one_story_with_sources_and_where_they_differ(
    two_sites: tuple[Site, Site],
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    gazette, wire = two_sites
    feeds = publish(gazette, wire)
    result = invoke(capsys, "--config", str(config(tmp_path, feeds)), "--date", DAY.isoformat())
    assert result.code == 0, result.err
    record = stories_of(tmp_path)
    assert record["clustering"]["method"] == "lexical+embeddings"  # type: ignore[index]
    stories = record["stories"]
    assert isinstance(stories, list) and len(stories) == 3
    fire = stories[0]  # two outlets: ranked first although older than the others
    assert fire["outlets"] == ["127.0.0.1", "127.0.0.2"]
    assert fire["prompt"] == "summarize-story@1"
    assert fire["cluster"]["method"] == "lexical+embeddings"
    [merge] = fire["cluster"]["merges"]
    assert merge["kind"] == "lexical+embeddings" and merge["evidence"] >= 1
    assert {merge["a"], merge["b"]} == {s["article_id"] for s in fire["sources"]}
    assert [(s["label"], s["url"]) for s in fire["sources"]] == [
        ("A", gazette.url("/news/fire")),
        ("B", wire.url("/news/fire")),
    ]
    a, b = (s["sentences"] for s in fire["sources"])
    assert a[0] == 1 and b[0] == a[1] + 1  # numbered on across the sources
    assert fire["disagreements"] == [
        {
            "what": "injured",
            "kind": "figure",
            "values": [
                {"value": "7", "outlets": ["127.0.0.1"]},
                {"value": "9", "outlets": ["127.0.0.2"]},
            ],
        }
    ]
    assert [s["prompt"] for s in stories[1:]] == [None, None]  # one article: as before

    # The story was asked once per language pivot, with both sources fenced and numbered.
    asked = [
        message_text(m)
        for body in endpoint_env.requests
        for m in body["messages"]
        if m["role"] == "user" and "<<<SOURCES" in message_text(m)
    ]
    assert len(asked) == 1
    assert "Source A: 127.0.0.1 (en)" in asked[0] and "Source B: 127.0.0.2 (en)" in asked[0]
    assert f"[{b[0]}] Nine people were injured" in asked[0]

    edition = tmp_path / "out" / DAY.isoformat()
    markdown = (edition / "digest.en.md").read_text(encoding="utf-8")
    assert (
        # (md_escape treats each name as a line: "127." could start an ordered list)
        f"2 sources: [127\\.0.0.1]({gazette.url('/news/fire')}), "
        f"[127\\.0.0.2]({wire.url('/news/fire')})" in markdown
    )
    assert "> Sources differ on the number injured: 7 (127.0.0.1), 9 (127.0.0.2)" in markdown
    text = (edition / "digest.en.txt").read_text(encoding="utf-8")
    assert "! Sources differ on the number injured: 7 (127.0.0.1), 9 (127.0.0.2)" in text
    assert f"  - 127.0.0.2\n    {wire.url('/news/fire')}" in text
    html = (edition / "digest.tr.html").read_text(encoding="utf-8")
    assert "Kaynaklar yaralı sayısı konusunda farklı: 7 (127.0.0.1), 9 (127.0.0.2)" in html
    assert f'<a href="{wire.url("/news/fire")}"' in html and "2 kaynak" in html
    # The embeddings came from the endpoint, over HTTP: a probe, then the day's texts.
    inputs = [body["input"] for body in endpoint_env.embedding_requests]
    assert inputs[0] == ["probe"] and len(inputs[1]) == 4
    assert {body["model"] for body in endpoint_env.embedding_requests} == {"text-embedding-3-small"}

    # The preview's front page lists the stories with their sources and disagreements.
    from digest.manifest import Manifest
    from digest.output.preview import PreviewPages

    front = PreviewPages().index(Manifest.load(edition), edition, "v", "nonce")
    assert '<table id="stories">' in front and "summarize-story@1" in front
    assert "Sources differ on the number injured: 7 (127.0.0.1), 9 (127.0.0.2)" in front
    assert "Grouped into stories by lexical+embeddings (text-embedding-3-small)" in front

    # With --evidence, a note names the source (outlet and title) a claim's sentences are
    # from, and quotes them; the answers come from the cache.
    cited = invoke(
        capsys, "--config", str(config(tmp_path, feeds)), "--date", "2025-03-14", "--evidence"
    )
    assert cited.code == 0 and "0 LLM call(s)" in cited.out
    markdown = (edition / "digest.en.md").read_text(encoding="utf-8")
    assert f"(127\\.0.0.1: {FIRE_A[0]}, 1)" in markdown  # md_escape: "127." opens a list

    # Re-rendered from the folder (as the editor's desk does, from the manifest): the
    # stories come from stories.json, so readers still see sources and disagreements.
    from digest.output.render import render_digest

    bare = Manifest.load(edition).as_digest().model_copy(update={"stories": []})
    render_digest(bare, edition)
    markdown = (edition / "digest.en.md").read_text(encoding="utf-8")
    assert "> Sources differ on the number injured" in markdown and "2 sources: " in markdown


def test_an_endpoint_without_embeddings_clusters_lexically_and_says_so(
    two_sites: tuple[Site, Site],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gazette, wire = two_sites
    feeds = publish(gazette, wire)
    with FakeOpenAI(embeddings_supported=False) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        result = invoke(capsys, "--config", str(config(tmp_path, feeds)), "--date", "2025-03-14")
    assert result.code == 0, result.err
    assert "embeddings" not in result.err  # a 404 is not news: lexical, quietly
    clustering = stories_of(tmp_path)["clustering"]
    assert isinstance(clustering, dict)
    assert clustering["method"] == "lexical" and clustering["embedding_model"] is None
    assert "404" in clustering["note"]
    assert "grouped lexical)" in result.out
    manifest = json.loads((tmp_path / "out" / "2025-03-14" / "manifest.json").read_text("utf-8"))
    assert manifest["clustering"]["method"] == "lexical"
    assert manifest["stories"][0]["outlets"] == ["127.0.0.1", "127.0.0.2"]


def test_claim_checks_take_each_sources_figure_from_that_source() -> None:
    """Sentences are numbered across sources: a claim citing A's sentence may say A's 13,
    one citing B's may say B's 15; 15 citing A still fails; a German source cited by an
    English claim gets the checks that work across languages."""
    parts = [
        StoryPart(
            label="A",
            outlet="a.example",
            title="t",
            lang="en",
            sentences=["The earthquake killed 13 people in Malatya.", "Rescue work went on."],
            first=1,
        ),
        StoryPart(
            label="B",
            outlet="b.example",
            title="t",
            lang="en",
            sentences=["Officials said 15 people died in Malatya."],
            first=3,
        ),
        StoryPart(
            label="C",
            outlet="c.example",
            title="t",
            lang="de",
            sentences=["Das Beben in Malatya forderte 13 Tote."],
            first=4,
        ),
    ]
    source = StorySources(parts, "en")
    assert source.where(3) == ("B", 1) and source.where(4) == ("C", 1)
    # An extract in English may use A's and B's sentences, not C's German one (ids kept).
    assert source.in_language("en")[2:] == ["Officials said 15 people died in Malatya.", ""]
    assert "Source B: b.example (en)\nTitle: t\n[3] Officials said" in source.numbered()

    def checked(text: str, evidence: list[int]) -> dict[str, str]:
        summary = Summary(
            headline="Earthquake in Malatya",
            sentences=[Claim(text=text, evidence=evidence)],
            points=[],
        )
        _, checks = evaluate(summary, source, lang="en")
        return {c.name: c.status for c in checks}

    assert checked("The earthquake killed 13 people in Malatya.", [1])[CITED_NUMBERS.name] == "ok"
    assert checked("Officials said 15 people died in Malatya.", [3])[CITED_NUMBERS.name] == "ok"
    assert checked("The earthquake killed 15 people in Malatya.", [1])[CITED_NUMBERS.name] == "fail"
    across = checked("The quake in Malatya killed 13 people.", [4])
    assert across[CITED_NUMBERS.name] == "ok" and across[SUPPORT.name] == "unverified"


# --- the labelled set: every event once, with all its sources ------------------------------


def test_labelled_set_gives_one_story_per_event_with_all_its_sources(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = REPO / "bench" / "data" / "clusters"
    labels: dict[str, str] = json.loads((data / "labels.json").read_text(encoding="utf-8"))
    # Lexical, as bench/clusters.py measured it: the loopback's hashed bag of words is no
    # multilingual model and would only measure itself.
    path = config(tmp_path, (), 'embeddings = "off"\nmax_stories = 40\nsince = "10d"\n')
    result = invoke(
        capsys, "--config", str(path), "--folder", str(data), "--date", "2026-03-12", "-l", "en"
    )
    assert result.code in (0, 3), result.err
    record = stories_of(tmp_path, date(2026, 3, 12))
    assert record["clustering"]["method"] == "lexical"  # type: ignore[index]
    stories = record["stories"]
    assert isinstance(stories, list)
    found = sorted(sorted(Path(s["path"]).name for s in story["sources"]) for story in stories)
    events: dict[str, list[str]] = {}
    for name, event in labels.items():
        events.setdefault(event, []).append(name)
    assert found == sorted(sorted(names) for names in events.values())
    planted = {s["title"]: s["disagreements"] for s in stories if s["disagreements"]}
    assert len(planted) == 5  # bench/data/clusters/disagreements.json: 5 planted, 0 false


# --- updates across editions ----------------------------------------------------------------


def test_a_story_from_yesterday_with_a_new_source_is_an_update(
    two_sites: tuple[Site, Site],
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    gazette, wire = two_sites
    end = end_of_day(DAY)
    gazette.add("/news/fire", page(*FIRE_A))
    wire.add("/news/fire", page(*FIRE_B))
    yesterday = [Item(FIRE_A[0], gazette.url("/news/fire"), end - timedelta(hours=30))]
    gazette.add("/rss.xml", rss_feed("g", yesterday), content_type="application/rss+xml")
    today = [Item(FIRE_B[0], wire.url("/news/fire"), end - timedelta(hours=5))]
    wire.add("/rss.xml", rss_feed("w", today), content_type="application/rss+xml")
    path = config(tmp_path, (gazette.url("/rss.xml"), wire.url("/rss.xml")))
    site_url = "https://news.example.org/archive/"
    first = invoke(capsys, "--config", str(path), "--date", (DAY - timedelta(days=1)).isoformat())
    assert first.code == 0, first.err
    second = invoke(capsys, "--config", str(path), "--date", DAY.isoformat(), "--since", "48h")
    assert second.code == 0, second.err
    assert "1 update(s)" in second.out
    earlier = stories_of(tmp_path, DAY - timedelta(days=1))["stories"][0]  # type: ignore[index]
    story = stories_of(tmp_path)["stories"][0]  # type: ignore[index]
    assert story["update"]["story_id"] == earlier["id"]
    assert story["update"]["edition_date"] == (DAY - timedelta(days=1)).isoformat()
    assert story["prompt"] == "summarize-story@1"
    markdown = (tmp_path / "out" / DAY.isoformat() / "digest.en.md").read_text("utf-8")
    assert "*Update · Earlier: " in markdown and "(March 13, 2025)*" in markdown
    text = (tmp_path / "out" / DAY.isoformat() / "digest.tr.txt").read_text("utf-8")
    assert "[Güncelleme] Önceki haber: " in text
    from digest.manifest import Manifest
    from digest.output.preview import PreviewPages

    folder = tmp_path / "out" / DAY.isoformat()
    front = PreviewPages().index(Manifest.load(folder), folder, "v", "nonce")
    assert f"<td>2025-03-13: {FIRE_A[0]}</td>" in front
    # With site_url, the update links to the earlier story's archive page.
    settings_path = path.with_name("linked.toml")
    settings_path.write_text(
        f'site_url = "{site_url}"\n' + path.read_text("utf-8"), encoding="utf-8"
    )
    linked = invoke(
        capsys, "--config", str(settings_path), "--date", DAY.isoformat(), "--since", "48h"
    )
    assert linked.code == 0, linked.err
    html = (tmp_path / "out" / DAY.isoformat() / "digest.en.html").read_text("utf-8")
    assert f'href="{site_url}en/2025-03-13.html#story-{earlier["id"]}"' in html


# --- sections from the classification prompt, merges confirmed by the same-event prompt ---


def test_classification_prompt_fills_a_section_when_sources_give_none(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "derby.md").write_text(
        "# Harbour derby ends level\n\nThe sport club of the harbour and its old rival drew "
        "on Sunday in front of a full stadium, and both coaches praised the young defenders "
        "who kept the game level until the final whistle.",
        encoding="utf-8",
    )
    path = tmp_path / "digest.toml"
    path.write_text(
        f'languages = ["en"]\nout = "{(tmp_path / "out").as_posix()}"\n'
        f'[[sources]]\nfolder = "{inbox.as_posix()}"\n'
        '[daily]\nclassify = true\nmin_section_stories = 1\nsince = "3650d"\n',
        encoding="utf-8",
    )
    result = invoke(capsys, "--config", str(path), "--date", DAY.isoformat())
    assert result.code == 0, result.err
    assert stories_of(tmp_path)["stories"][0]["section"] == "Sport"  # type: ignore[index]
    asked = [b for b in endpoint_env.requests if "Sections: World" in json.dumps(b)]
    assert len(asked) == 1
    markdown = (tmp_path / "out" / DAY.isoformat() / "digest.en.md").read_text("utf-8")
    assert "## Sport" in markdown
    again = invoke(capsys, "--config", str(path), "--date", DAY.isoformat())
    assert again.code == 0 and "0 LLM call(s)" in again.out  # the answer is cached


def test_same_event_prompt_can_refuse_a_borderline_merge(
    endpoint_env: FakeOpenAI, tmp_path: Path
) -> None:
    from digest.budget import Budget
    from digest.cache import Cache
    from digest.checks import Gate
    from digest.llm.endpoint import open_endpoint
    from digest.prompts import load_prompt
    from digest.sections import BudgetSettings
    from digest.story_questions import StoryQuestions
    from digest.summarize import Summarizer

    def article(title: str, text: str) -> Article:
        return Article(
            id=title[:16].ljust(16, "x"), title=title, text=text, source=title, source_lang="en"
        )

    a, b = article(*FIRE_A), article(*FIRE_B)
    # Other articles of the day: words all articles share weigh nothing (IDF).
    day = [a, b] + [article(STORIES[s].title, STORIES[s].text) for s in ("library", "ferry")]
    merged = cluster_articles(day).clusters[0].merges[0]
    # Thresholds raised until this very pair is a borderline merge (evidence 1.1).
    k = merged.evidence / 1.1
    tuning = Tuning(lexical_threshold=LEXICAL_THRESHOLD * k, anchor_threshold=0.35 * k)
    settings = load_settings({"languages": ["en"]})
    with open_endpoint(settings.endpoint, lambda _m: None) as llm:
        summarizer = Summarizer(
            llm,
            Cache(tmp_path / "cache.sqlite3"),
            Gate([]),
            reasks=0,
            budget=Budget.for_model(BudgetSettings(), llm.model),
        )
        questions = StoryQuestions(summarizer, same_event=load_prompt("same-event"))
        endpoint_env.enqueue(Fault.raw('{"same_event": false}'))
        apart = cluster_articles(day, tuning=tuning, confirm=questions.same_event)
        assert len(apart.clusters) == 4 and apart.rejected_merges == 1
        assert (questions.asked, questions.refused) == (1, 1)
        assert questions.same_event(b, a) is False  # cached, either order: no new call
        assert endpoint_env.chat_calls == 1
    prompt = message_text(endpoint_env.requests[0]["messages"][1])
    assert "Warehouse fire at the Eastport docks" in prompt and "Blaze guts" in prompt


# --- fetching: conditional GET, per-host limits --------------------------------------------


def test_unchanged_feeds_and_pages_cost_a_304_each(
    two_sites: tuple[Site, Site],
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    gazette, wire = two_sites
    feeds = publish(gazette, wire, etag=True)
    path = config(tmp_path, feeds)
    first = invoke(capsys, "--config", str(path), "--date", DAY.isoformat())
    assert first.code == 0, first.err
    assert "6 request(s), 0 unchanged (304)" in first.out
    sent = gazette.bytes_sent + wire.bytes_sent
    before = stories_of(tmp_path)
    second = invoke(capsys, "--config", str(path), "--date", DAY.isoformat())
    assert second.code == 0, second.err
    assert "6 request(s), 6 unchanged (304)" in second.out
    assert gazette.not_modified + wire.not_modified == 6
    assert gazette.bytes_sent + wire.bytes_sent == sent  # nothing sent again
    assert stories_of(tmp_path) == before  # the same stories from the stored copies
    assert (tmp_path / "out" / ".fetch-state").is_dir()
    # A changed page is fetched again.
    wire.routes["/news/ferry"].etag = '"v2"'
    third = invoke(capsys, "--config", str(path), "--date", DAY.isoformat())
    assert "6 request(s), 5 unchanged (304)" in third.out


def test_at_most_two_requests_at_once_per_host() -> None:
    window = make_window("24h", now=datetime.now())
    with Site() as one, Site("127.0.0.2") as two:
        sources = []
        for site in (one, two):
            for n in range(6):
                site.add(f"/p{n}", article_page(STORIES["ferry"]), delay=0.15)
            sources.append(SourceConfig(urls=[site.url(f"/p{n}") for n in range(6)]))
        with httpx.Client() as client:
            gathered = gather(sources, client, window, 3000, limits=HostLimits(2, 8))
        assert len(gathered.candidates) == 12 and gathered.requests == 12
        assert one.max_in_flight == 2 and two.max_in_flight == 2


def test_batch_api_asks_a_story_of_several_sources_with_the_story_prompt(
    two_sites: tuple[Site, Site],
    endpoint_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    gazette, wire = two_sites
    path = config(tmp_path, publish(gazette, wire))
    result = invoke(capsys, "--config", str(path), "--date", DAY.isoformat(), "--batch")
    assert result.code == 0, result.err
    users = [
        message_text(m)
        for body in endpoint_env.batch_requests
        for m in body["messages"]
        if m["role"] == "user"
    ]
    assert len(users) == 3  # three stories in their own language, one line each
    assert sum("<<<SOURCES" in text for text in users) == 1
    stories = stories_of(tmp_path)["stories"]
    assert isinstance(stories, list) and stories[0]["prompt"] == "summarize-story@1"
    # The edition's own answers came back through the batch: no story was asked directly.
    assert not any("<<<SOURCES" in json.dumps(body) for body in endpoint_env.requests)
