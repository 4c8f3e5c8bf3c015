"""Rendering a Digest to Markdown, email HTML, text, index.html and manifest.json."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
import yaml

from digest.edition import EditionOutcome, write_edition
from digest.errors import DigestError
from digest.languages import parse_languages
from digest.manifest import Manifest
from digest.models import (
    Article,
    Brief,
    BriefResult,
    Check,
    Digest,
    StoryResult,
    Summary,
    Usage,
)
from digest.output.render import (
    GMAIL_CLIP_BYTES,
    STRING_KEYS,
    make_environment,
    md_escape,
    md_url,
    render_digest,
)
from digest.output.strings import STORY_STRING_KEYS
from digest.resources import data_dir

HOSTILE_TEXTS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
]

LOCAL_FILE = re.compile(r"^[\w-]+(\.[\w-]+)+$")

# Realistic lengths: a 20-story edition must stay under Gmail's clipping size in every script.
SAMPLE_TEXT = {
    "en": (
        "Council approves new cycle bridge over the river",
        "The town council voted 23 to 4 on Tuesday to build a 140-metre cycle and foot bridge "
        "linking the old town with the Eastbank district. Construction is expected to start "
        "next spring and take about eighteen months. The project will be paid for mostly by a "
        "national active-travel grant, with the rest coming from the council's capital budget. "
        "Opponents argued that the money should go to road repairs, while supporters said the "
        "bridge would cut traffic on the old stone bridge and make school journeys safer.",
        "The bridge will be 140 metres long and open to cyclists and pedestrians only.",
    ),
    "tr": (
        "Belediye meclisi nehir üzerine yeni bisiklet köprüsünü onayladı",
        "Belediye meclisi salı günü yaptığı oylamada, eski şehri Eastbank semtine bağlayacak "
        "140 metrelik bisiklet ve yaya köprüsünün yapımını 4'e karşı 23 oyla kabul etti. "
        "İnşaatın gelecek ilkbaharda başlaması ve yaklaşık on sekiz ay sürmesi bekleniyor. "
        "Projenin büyük bölümü ulusal bir aktif ulaşım hibesiyle, kalanı ise belediyenin "
        "yatırım bütçesinden karşılanacak. Karşı çıkanlar paranın yol onarımına harcanması "
        "gerektiğini savunurken, destekçiler köprünün trafiği azaltacağını söyledi.",
        "Köprü 140 metre uzunluğunda olacak ve yalnızca bisikletlilere ve yayalara açık olacak.",
    ),
    "ar": (
        "المجلس البلدي يوافق على جسر جديد للدراجات فوق النهر",
        "صوّت المجلس البلدي يوم الثلاثاء بأغلبية 23 صوتًا مقابل 4 على بناء جسر للدراجات "
        "والمشاة بطول 140 مترًا يربط البلدة القديمة بحي إيستبانك. ومن المتوقع أن يبدأ البناء "
        "في الربيع المقبل وأن يستغرق نحو ثمانية عشر شهرًا. وسيُموَّل المشروع في معظمه من منحة "
        "وطنية للتنقل النشط، ويأتي الباقي من الميزانية الرأسمالية للمجلس. وقال المعارضون إن "
        "الأموال يجب أن تذهب إلى إصلاح الطرق، بينما قال المؤيدون إن الجسر سيخفف الازدحام.",
        "سيبلغ طول الجسر 140 مترًا وسيكون مفتوحًا للدراجات والمشاة فقط دون السيارات.",
    ),
    "de": (
        "Stadtrat genehmigt neue Radbrücke über den Fluss",
        "Der Stadtrat hat am Dienstag mit 23 zu 4 Stimmen den Bau einer 140 Meter langen Rad- "
        "und Fußgängerbrücke beschlossen, die die Altstadt mit dem Stadtteil Eastbank verbinden "
        "soll. Der Bau soll im nächsten Frühjahr beginnen und etwa achtzehn Monate dauern. "
        "Finanziert wird das Projekt größtenteils aus einem nationalen Förderprogramm, der Rest "
        "kommt aus dem Investitionshaushalt der Stadt. Gegner wollten das Geld lieber in "
        "Straßenreparaturen stecken, Befürworter erwarten weniger Verkehr auf der alten Brücke.",
        "Die Brücke wird 140 Meter lang und nur für Radfahrer und Fußgänger geöffnet sein.",
    ),
}


def make_article(index: int, **overrides: object) -> Article:
    fields: dict[str, object] = {
        "id": f"{index:016x}",
        "title": f"Larkford council approves cycle bridge, part {index}",
        "text": "Article text. " * 40,
        "url": f"https://news.example/2024/03/12/story-{index}?ref=a&b=c",
        "source": f"seeds/{index:03d}.html",
        "source_lang": "en",
        "section": ["Local", "Business", None][index % 3],
    }
    fields.update(overrides)
    return Article.model_validate(fields)


def make_summary(lang: str, index: int) -> Summary:
    headline, summary, point = SAMPLE_TEXT.get(lang, SAMPLE_TEXT["en"])
    return Summary(
        headline=f"{headline} ({index})",
        summary=summary,
        key_points=[point, point, point, point],
    )


def make_digest(
    codes: str = "en,tr,ar,de", stories: int = 3, withheld: set[tuple[int, str]] | None = None
) -> Digest:
    withheld = withheld or set()
    languages = parse_languages(codes)
    articles = [make_article(i) for i in range(stories)]
    results = []
    for i, article in enumerate(articles):
        for lang in languages:
            if (i, lang.code) in withheld:
                results.append(
                    StoryResult(
                        article_id=article.id,
                        lang=lang.code,
                        status="withheld",
                        checks=[Check(name="language", status="fail", detail="detected fr")],
                        reason="summary is in the wrong language (fr)",
                        attempts=3,
                    )
                )
            else:
                results.append(
                    StoryResult(
                        article_id=article.id,
                        lang=lang.code,
                        status="published",
                        summary=make_summary(lang.code, i),
                        checks=[Check(name="language", status="ok")],
                        attempts=1,
                    )
                )
    briefs = [
        BriefResult(
            lang=lang.code,
            status="published",
            brief=Brief(overview=SAMPLE_TEXT.get(lang.code, SAMPLE_TEXT["en"])[1][:300]),
        )
        for lang in languages
    ]
    return Digest(
        title="Larkford Morning Digest",
        edition_date=date(2024, 3, 12),
        generated_at=datetime(2024, 3, 12, 6, 30, tzinfo=UTC),
        languages=languages,
        articles=articles,
        results=results,
        briefs=briefs,
        prompt="summarize@v003",
        model="gemma-3-270m-it",
        endpoint="127.0.0.1:8080",
        usage=Usage(calls=12, prompt_tokens=123456, completion_tokens=7890),
    )


class TagCollector(HTMLParser):
    """Every start tag with its attributes, as the browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def parse_tags(html: str) -> list[tuple[str, dict[str, str]]]:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector.tags


class BlockText(HTMLParser):
    """The text a reader sees in each paragraph and list item (references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"p", "li"}:
            self.blocks.append("")
            self.open = True

    def handle_endtag(self, tag: str) -> None:
        self.open = self.open and tag not in {"p", "li"}

    def handle_data(self, data: str) -> None:
        if self.open:
            self.blocks[-1] += data


def visible_text(html: str) -> list[str]:
    parser = BlockText()
    parser.feed(html)
    parser.close()
    return [block.strip() for block in parser.blocks]


def assert_inert_html(html: str) -> None:
    tags = parse_tags(html)
    names = {name for name, _ in tags}
    assert not names & {"script", "img", "iframe", "object", "embed", "form", "link"}
    for name, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], (name, attrs)
        for attr in ("href", "src", "action"):
            value = attrs.get(attr, "").strip().lower()
            assert not value.startswith("javascript:"), (name, attrs)
            if name == "a" and attr == "href":
                # external links are http(s); the index also links its sibling files
                assert value.startswith(("http://", "https://")) or LOCAL_FILE.match(value), value


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[Digest, EditionOutcome, Path]:
    digest = make_digest(withheld={(1, "tr"), (2, "ar")})
    outcome = write_edition(digest, tmp_path, started=time.monotonic())
    return digest, outcome, tmp_path


def test_every_language_gets_md_html_txt_plus_index_and_manifest(rendered):
    digest, outcome, out = rendered
    expected = {f"digest.{c}.{k}" for c in ("en", "tr", "ar", "de") for k in ("md", "html", "txt")}
    expected |= {f"feed.{c}.{k}" for c in ("en", "tr", "ar", "de") for k in ("xml", "json")}
    expected |= {"index.html", "manifest.json", "desk.json"}  # desk.json: for the editor
    assert {p.name for p in outcome.files} == expected
    assert outcome.files[-1].name == "manifest.json"  # written last: its presence means complete
    assert {p.name for p in out.iterdir()} == expected  # no temp files left behind
    assert outcome.warnings == []
    manifest = Manifest.load(out)
    assert manifest.results == [
        r if r.status == "published" else r.model_copy(update={"summary": None})
        for r in digest.results
    ]
    assert manifest.titles == {code: "Larkford Morning Digest" for code in ("en", "tr", "ar", "de")}


def test_html_direction_and_language(rendered):
    _, _, out = rendered
    for code, direction in (("en", "ltr"), ("tr", "ltr"), ("ar", "rtl"), ("de", "ltr")):
        tags = parse_tags((out / f"digest.{code}.html").read_text())
        html_tag = next(attrs for name, attrs in tags if name == "html")
        body_tag = next(attrs for name, attrs in tags if name == "body")
        assert (html_tag["lang"], html_tag["dir"]) == (code, direction)
        assert body_tag["dir"] == direction
    arabic = (out / "digest.ar.html").read_text()
    assert arabic.startswith('<!DOCTYPE html><html lang="ar" dir="rtl"')
    assert "text-align:right" in arabic.replace(" ", "")
    assert "text-align:right" not in (out / "digest.en.html").read_text().replace(" ", "")


def test_html_is_email_ready(rendered):
    _, _, out = rendered
    html = (out / "digest.en.html").read_text()
    tags = parse_tags(html)
    assert_inert_html(html)
    assert "javascript:" not in html.lower()
    assert "@import" not in html and "googleapis" not in html  # nothing loaded from third parties
    styles = html.count("<style")
    assert styles == 2  # media queries only, plus the one inside Outlook's conditional comment
    assert "@media" in html and "<!--[if mso" in html
    assert sum(name == "table" for name, _ in tags) > 3  # table layout from MJML
    # the class-based rules were inlined
    h3 = next(attrs for name, attrs in tags if name == "h3")
    assert "font-size" in h3["style"]
    # hidden preheader holds the first published headlines
    assert "display:none" in html and "Council approves new cycle bridge over the river (0)" in html


def test_story_content_sections_and_source_links(rendered):
    _, _, out = rendered
    md = (out / "digest.en.md").read_text()
    # first-seen order: Local (0), Business (1), no heading for section None (2)
    assert md.index("## Local") < md.index("## Business") < md.index("(2)")
    assert md.count("\n## ") == 3  # In brief + two sections
    assert "**Key points**" in md
    assert "Source: [Larkford council approves cycle bridge, part 0]" in md
    assert "(https://news.example/2024/03/12/story-0?ref=a&b=c)" in md
    html = (out / "digest.en.html").read_text()
    assert 'href="https://news.example/2024/03/12/story-0?ref=a&amp;b=c"' in html
    assert "In brief" in html and "Key points" in html


def test_withheld_story_shows_original_with_localised_note(rendered):
    _, _, out = rendered
    turkish = {k: (out / f"digest.tr.{k}").read_text() for k in ("md", "html", "txt")}
    for text in turkish.values():
        assert "Doğrulanmış Türkçe özet yok" in text
        assert "Larkford council approves cycle bridge, part 1" in text
    assert "https://news.example/2024/03/12/story-1" in turkish["txt"]
    assert "لا يوجد ملخص موثّق باللغة العربية" in (out / "digest.ar.html").read_text()
    assert "No verified English summary" not in (out / "digest.en.txt").read_text()
    # the reason is for the operator, not the reader
    for path in out.glob("digest.*"):
        assert "wrong language" not in path.read_text()
    index = (out / "index.html").read_text()
    assert "summary is in the wrong language (fr)" in index
    assert "detected fr" in index
    manifest = json.loads((out / "manifest.json").read_text())
    assert any(r["reason"] == "summary is in the wrong language (fr)" for r in manifest["results"])


def test_dates_are_localised_and_readers_get_the_disclaimer_not_our_metadata(rendered):
    _, _, out = rendered
    assert "12 Mart 2024" in (out / "digest.tr.md").read_text()
    assert "12. März 2024" in (out / "digest.de.txt").read_text()
    assert "March 12, 2024" in (out / "digest.en.html").read_text()
    for code in ("en", "tr", "ar", "de"):
        for kind in ("md", "html", "txt"):
            text = (out / f"digest.{code}.{kind}").read_text()
            # Model, prompt, endpoint and tokens are the operator's (index.html, manifest).
            for internal in ("gemma-3-270m-it", "summarize@v003", "127.0.0.1", "131"):
                assert internal not in text, (code, kind, internal)
    assert "machine-generated and automatically checked" in (out / "digest.en.txt").read_text()


def test_a_colophon_puts_localised_provenance_back(tmp_path: Path) -> None:
    digest = make_digest().model_copy(update={"colophon": True})
    write_edition(digest, tmp_path, started=time.monotonic())
    assert "131.346" in (tmp_path / "digest.de.md").read_text()  # 123456 + 7890, German grouping
    english = (tmp_path / "digest.en.txt").read_text()
    assert "131,346" in english
    assert "gemma-3-270m-it" in english and "summarize@v003" in english


def test_the_default_title_is_translated_and_a_configured_one_kept(tmp_path: Path) -> None:
    digest = make_digest().model_copy(update={"title": None, "titles": {"de": "Morgenlage"}})
    write_edition(digest, tmp_path, started=time.monotonic())
    assert (tmp_path / "digest.tr.md").read_text().startswith("# Haber özeti")
    assert ">موجز الأخبار</h1>" in (tmp_path / "digest.ar.html").read_text()
    assert (tmp_path / "digest.de.txt").read_text().lstrip().startswith("Morgenlage")
    assert (tmp_path / "digest.en.md").read_text().startswith("# News digest")
    manifest = Manifest.load(tmp_path)
    assert manifest.title == "News digest"
    assert manifest.titles == {
        "en": "News digest",
        "tr": "Haber özeti",
        "ar": "موجز الأخبار",
        "de": "Morgenlage",
    }


def test_index_links_every_file_and_shows_provenance(rendered):
    _, _, out = rendered
    index = (out / "index.html").read_text()
    assert_inert_html(index)
    hrefs = {a["href"] for name, a in parse_tags(index) if name == "a"}
    for code in ("en", "tr", "ar", "de"):
        assert {f"digest.{code}.html", f"digest.{code}.md", f"digest.{code}.txt"} <= hrefs
    for needle in ("gemma-3-270m-it", "summarize@v003", "127.0.0.1:8080", "123,456", "7,890"):
        assert needle in index
    assert index.count('class="withheld"') == 2


def test_text_is_wrapped_plain_text(rendered):
    _, _, out = rendered
    text = (out / "digest.de.txt").read_text()
    lines = text.splitlines()
    assert all(len(line) <= 78 or line.startswith("https://") for line in lines)
    assert "<" not in text and "&amp;" not in text
    # the link follows its story as a bare URL on its own line
    assert "https://news.example/2024/03/12/story-0?ref=a&b=c" in lines


def test_twenty_stories_in_four_languages_stay_under_gmail_clip(tmp_path):
    report = render_digest(make_digest(stories=20), tmp_path)
    assert report.warnings == []
    for code in ("en", "tr", "ar", "de"):
        size = (tmp_path / f"digest.{code}.html").stat().st_size
        assert 20_000 < size < GMAIL_CLIP_BYTES, (code, size)


def test_oversized_html_is_reported(tmp_path):
    report = render_digest(make_digest("ar", stories=80), tmp_path)
    assert len(report.warnings) == 1
    assert "digest.ar.html" in report.warnings[0] and "Gmail clips" in report.warnings[0]
    assert (tmp_path / "digest.ar.html").stat().st_size > GMAIL_CLIP_BYTES


def hostile_digest() -> Digest:
    digest = make_digest("en", stories=1)
    evil = " ".join(HOSTILE_TEXTS)
    summary = Summary(
        headline=f"Headline {HOSTILE_TEXTS[0]}",
        summary=f"Summary {evil}\n# not a heading\n<div>raw</div> ![x](http://t.example/p.png)",
        key_points=HOSTILE_TEXTS,
    )
    # model_construct skips the Article validator, so render's own URL check is what is tested
    bad_article = Article.model_construct(
        **{**make_article(1).model_dump(), "url": "javascript:alert(1)", "title": evil}
    )
    results = [
        digest.results[0].model_copy(update={"summary": summary}),
        StoryResult(article_id=bad_article.id, lang="en", status="published", summary=summary),
    ]
    return digest.model_copy(
        update={
            "title": f"Digest {HOSTILE_TEXTS[1]}",
            "articles": [*digest.articles, bad_article],
            "results": results,
            "briefs": [BriefResult(lang="en", status="published", brief=Brief(overview=evil))],
            "model": HOSTILE_TEXTS[0],
        }
    )


def test_hostile_text_is_inert_in_html(tmp_path):
    render_digest(hostile_digest(), tmp_path)
    for name in ("digest.en.html", "index.html"):
        html = (tmp_path / name).read_text()
        assert_inert_html(html)
        assert "<script" not in html and "<img" not in html and "<div>raw" not in html
        assert 'href="javascript' not in html.lower()
    html = (tmp_path / "digest.en.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text


def test_hostile_text_is_inert_in_markdown(tmp_path):
    render_digest(hostile_digest(), tmp_path)
    md = (tmp_path / "digest.en.md").read_text()
    assert "<script" not in md and "<img" not in md and "<div" not in md
    assert r"\[click\]\(javascript" in md
    assert "\n# not a heading" not in md
    markdown_it = pytest.importorskip("markdown_it")
    # Even a renderer that passes raw HTML through produces nothing active.
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).render(md)
    assert_inert_html(html)
    assert "javascript" not in " ".join(a.get("href", "") for _, a in parse_tags(html))
    headings = [n for n, _ in parse_tags(html) if n in {"h1", "h2", "h3", "h4"}]
    # title, In brief, then a section heading and a story each: nothing added, nothing lost
    assert headings == ["h1", "h2", "h2", "h3", "h2", "h3"]


def test_hostile_text_stays_plain_in_txt(tmp_path):
    render_digest(hostile_digest(), tmp_path)
    text = (tmp_path / "digest.en.txt").read_text()
    assert "<script>alert(1)</script>" in text  # plain text: shown verbatim, never markup
    assert "&lt;" not in text
    assert "javascript:alert(1)\n" not in text  # the bad URL is not listed as a link


def test_md_escape_and_md_url():
    assert md_escape("a <b> & c") == "a &lt;b> & c"
    assert md_escape("[x](y) *b* _i_ `c`") == r"\[x\]\(y) \*b\* \_i\_ \`c\`"
    assert md_escape("![i](u) (fine!) #1 a|b ~s~") == r"\!\[i\]\(u) (fine!) \#1 a\|b \~s\~"
    assert md_escape("- item") == r"\- item"
    assert md_escape("> quote") == r"\> quote"
    assert md_escape("1. first\n\n# two") == r"1\. first \# two"
    assert md_escape("line\x00\u202eevil") == "lineevil"
    assert md_url("https://e.example/a b") == ""  # safe_url rejects spaces outright
    assert md_url("https://e.example/a\\)") == "https://e.example/a%5C%29"
    assert md_url("https://e.example/a(b)") == "https://e.example/a%28b%29"
    assert md_url("javascript:alert(1)") == ""
    assert md_url(None) == ""


PLAIN_TEXT = "R&D at AT&T: 3 < 4, 5 > 4, 1<2, a -> b <- c & d <= e"


def test_md_escape_leaves_plain_ampersands_and_comparisons_alone():
    """Issue 10: a plain `&` came out as `&amp;` in the Markdown file."""
    assert md_escape(PLAIN_TEXT) == PLAIN_TEXT
    # Only what would start a character reference or a tag is escaped.
    assert md_escape("&copy; &#169; &x") == r"&amp;copy; &amp;\#169; &x"
    assert md_escape("<b>x</b> <!-- c --> <?php <https://e.example> x<y") == (
        "&lt;b>x&lt;/b> &lt;!-- c --> &lt;?php &lt;https://e.example> x&lt;y"
    )


@pytest.mark.parametrize("flavour", ["markdown-it (commonmark, raw HTML on)", "Python-Markdown"])
def test_escaped_markdown_shows_exactly_the_text(flavour: str) -> None:
    """What a reader sees is the text itself: no `&amp;` shown, no tag made, in either
    family of renderers (Python-Markdown knows no backslash escape for `<` or `&`)."""
    text = f"{PLAIN_TEXT} &copy; <b>bold</b> <script>alert(1)</script>"
    source = f"{md_escape(text)}\n\n- {md_escape('> 50% & rising')}\n"
    if flavour.startswith("markdown-it"):
        markdown_it = pytest.importorskip("markdown_it")
        html = markdown_it.MarkdownIt("commonmark", {"html": True}).render(source)
    else:
        markdown = pytest.importorskip("markdown")
        html = markdown.markdown(source)
    assert_inert_html(html)
    tags = [name for name, _ in parse_tags(html)]
    assert tags == ["p", "ul", "li"], html
    assert visible_text(html) == [text, "> 50% & rising"]


def test_environment_is_strict_and_escapes_html_templates():
    env = make_environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("digest.md.j2").render()
    assert env.autoescape is not None
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    md_template = env.get_template("digest.md.j2")
    html_template = env.get_template("email.mjml.j2")
    assert callable(env.autoescape)
    assert env.autoescape(md_template.name) is False
    assert env.autoescape(html_template.name) is True
    assert env.autoescape("index.html.j2") is True


def test_strings_cover_required_languages_and_keys():
    table = yaml.safe_load((data_dir("templates") / "strings.yaml").read_text(encoding="utf-8"))
    for code in ("en", "tr", "ar", "de", "fr", "es", "pt", "it", "ru", "fa"):
        assert set(table[code]) == set(STRING_KEYS) | set(STORY_STRING_KEYS), code


def test_unlisted_language_falls_back_to_english_with_native_name(tmp_path):
    digest = make_digest("ja,pt-BR,fa", stories=2, withheld={(0, "ja"), (0, "pt-BR"), (0, "fa")})
    render_digest(digest, tmp_path)
    assert "No verified 日本語 summary" in (tmp_path / "digest.ja.md").read_text()
    assert (
        "Nenhum resumo verificado em português (Brasil)"
        in (tmp_path / "digest.pt-BR.txt").read_text()
    )
    persian = (tmp_path / "digest.fa.html").read_text()
    assert 'lang="fa" dir="rtl"' in persian and "خلاصهٔ تأییدشده به فارسی موجود نیست" in persian


def test_empty_edition_renders(tmp_path):
    digest = make_digest("en", stories=0).model_copy(update={"briefs": []})
    report = render_digest(digest, tmp_path)
    assert report.warnings == []
    assert "There are no stories in this edition." in (tmp_path / "digest.en.html").read_text()


def test_unwritable_output_is_a_user_error(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(DigestError, match="cannot write"):
        render_digest(make_digest("en", stories=1), blocker)


SNAPSHOT_MD = """\
# Tiny Digest

*12 Mart 2024*

## Kısaca

İki haber var.

### Köprü onaylandı

Meclis köprüyü \\*onayladı\\* &lt;b>bugün&lt;/b>.

**Öne çıkanlar**

- Bir
- İki
- Üç

Kaynak: [Bridge (approved)](https://news.example/a%28b%29)

## World

### Withheld story

**Doğrulanmış Türkçe özet yok**\\
Özet otomatik denetimlerden geçemediği için gösterilmiyor; lütfen özgün habere bakın.

Kaynak: Withheld story

---

*Özetler makine tarafından üretilir ve otomatik olarak denetlenir. Yine de hata içerebilir; \
önemli bilgileri özgün haberlerden doğrulayın.*
"""


def test_markdown_snapshot(tmp_path):
    lang = parse_languages("tr")
    published = make_article(0, title="Bridge (approved)", url="https://news.example/a(b)")
    withheld = make_article(1, title="Withheld story", url=None, section="World")
    summary = Summary(
        headline="Köprü onaylandı",
        summary="Meclis köprüyü *onayladı* <b>bugün</b>.",
        key_points=["Bir", "İki", "Üç"],
    )
    digest = Digest(
        title="Tiny Digest",
        edition_date=date(2024, 3, 12),
        generated_at=datetime(2024, 3, 12, tzinfo=UTC),
        languages=lang,
        articles=[published.model_copy(update={"section": None}), withheld],
        results=[
            StoryResult(article_id=published.id, lang="tr", status="published", summary=summary),
            StoryResult(article_id=withheld.id, lang="tr", status="withheld", reason="x"),
        ],
        briefs=[BriefResult(lang="tr", status="published", brief=Brief(overview="İki haber var."))],
        prompt="p@v1",
        model="m",
        endpoint="e",
        usage=Usage(prompt_tokens=1000, completion_tokens=234),
    )
    render_digest(digest, tmp_path)
    assert (tmp_path / "digest.tr.md").read_text() == SNAPSHOT_MD
