"""Reading articles in (digest.ingest.files) and cleaning them (digest.ingest.cleaning)."""

from __future__ import annotations

import hashlib
import io
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support.paths import SEEDS

from digest.errors import InputError
from digest.ingest.cleaning import (
    clean_text,
    detect_language,
    estimate_tokens,
    is_residue_line,
    sentence_ends,
    strip_markdown,
    trim_to_budget,
)
from digest.ingest.files import (
    SUPPORTED_SUFFIXES,
    article_from_html,
    decode_bytes,
    load_inputs,
    make_article,
    parse_published,
)
from digest.models import Article

SEED_TXT = SEEDS / "000_e2a5421fd2ec2f6f.txt"
SEED_HTML = SEEDS / "001_larkford_cycle_bridge.html"
SEED_MD = SEEDS / "002_northline_night_trains.md"
SEED_TR = SEEDS / "003_kiyikent_kutuphane_tr.txt"

TURKISH = (
    "Belediye meclisi salı günü yeni köprünün yapımına karar verdi.\n"
    "Şehirde yaşayan öğrenciler için ücretsiz ulaşım ağustos ayında başlıyor.\n"
    "İzmir'deki festivale binlerce kişinin katılması bekleniyor."
)
GERMAN = (
    "Der Stadtrat hat am Dienstag den Bau einer neuen Brücke beschlossen.\n"
    "Die Kosten für die Überführung liegen bei 18 Millionen Euro; Anwohner äußerten "
    "Bedenken wegen des Lärms während der Bauarbeiten an der Straße."
)
SPANISH = (
    "El ayuntamiento aprobó el martes la construcción de un nuevo puente. Las obras "
    "comenzarán en otoño y durarán dos años, según el alcalde."
)
PAGE = """<!doctype html><html><head><title>Harbour ferry returns | Example Post</title>
<link rel="canonical" href="https://example.org/ferry"></head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>
<article><h1>Harbour ferry returns</h1>
<p>The harbour ferry between the north and south quays returned to service on Tuesday after
a six-week repair of its engine, the city transport office said.</p>
<p>The boat carries about 900 passengers on a normal weekday and runs every 20 minutes
between 6 a.m. and 11 p.m.</p></article>
<footer>Copyright Example Post. All rights reserved.</footer></body></html>"""


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def one(inputs: list[str], **kwargs: Any) -> Article:
    result = load_inputs(inputs, **kwargs)
    assert len(result.articles) == 1
    return result.articles[0]


# --- the seeds ------------------------------------------------------------------------------


def test_seed_txt_residue_title_id_language() -> None:
    article = load_inputs([str(SEED_TXT)]).articles[0]
    assert "Discussion about this post" not in article.text
    assert article.text.endswith("brutal repression of anti-regime protests.")
    # The first line is a long sentence: it stays in the body, the title is its shortened form.
    assert article.text.startswith("Turkey has fulfilled its responsibilities in the northwestern")
    assert article.title == (
        "Turkey has fulfilled its responsibilities in the northwestern Syrian region of Idlib…"
    )
    assert article.source_lang == "en"
    assert article.id == hashlib.sha256(article.text.encode()).hexdigest()[:16]
    # Pinned: the id must not change between runs, machines or harmless refactors.
    assert article.id == "884540bbdecd36ed"
    assert article.trimmed is None and article.url is None


def test_seed_html_boilerplate_is_left_out() -> None:
    article = load_inputs([str(SEED_HTML)]).articles[0]
    assert article.title == "Larkford council approves cycle and foot bridge over the River Wend"
    assert article.text.startswith("Larkford city council on Monday approved plans")
    assert "central library on 2 April." in article.text
    boilerplate = ["We use cookies", "Accept all cookies", "News", "Sport", "Weather",
                   "Subscribe for", "Share this", "Related articles", "Bus fares to rise",
                   "All rights reserved", "Privacy policy", "The Larkford Courier"]  # fmt: skip
    lines = article.text.split("\n")
    assert [b for b in boilerplate if b in lines or (" " in b and b in article.text)] == []
    assert (
        article.url == "https://www.larkford-courier.example/news/2024/03/12/cycle-bridge-approved"
    )
    assert article.published == datetime(2024, 3, 12)
    assert article.source_lang == "en"


def test_seed_markdown_front_matter_and_plain_text() -> None:
    article = load_inputs([str(SEED_MD)]).articles[0]
    assert article.title.startswith("Northline Rail to run night trains")
    assert article.title.endswith("from June")  # front matter wins over the # heading
    assert (
        article.url
        == "https://news.northline-region.example/transport/night-trains-halden-bay-corvin"
    )
    assert article.published == datetime(2024, 4, 3)
    for markup in ("**", "](", "# ", "> ", "---", "title:"):
        assert markup not in article.text, markup
    assert "a nightly train service between Halden Bay and Corvin on 3 June" in article.text
    assert "- 6 sleeping cars with 2- and 4-berth cabins\n- 2 seating cars" in article.text
    assert "through the operator's website and at station counters" in article.text
    assert "\n\n" in article.text  # paragraphs kept


def test_seed_turkish_title_line_and_language() -> None:
    article = load_inputs([str(SEED_TR)]).articles[0]
    assert article.title == "Kıyıkent'te yeni şehir kütüphanesi kapılarını açtı"
    assert not article.text.startswith("Kıyıkent'te yeni")  # title line left the body
    assert article.text.startswith("Kıyıkent Belediyesi'nin eski liman deposunu")
    assert not article.text.rstrip().endswith("Paylaş")
    assert article.source_lang == "tr"


def test_seed_folder_is_loaded_in_order_and_ids_are_stable() -> None:
    first = load_inputs([str(SEEDS)])
    second = load_inputs([str(SEEDS)])
    assert [Path(a.source).name for a in first.articles] == sorted(
        p.name for p in SEEDS.iterdir() if p.suffix in SUPPORTED_SUFFIXES
    )
    assert [a.id for a in first.articles] == [a.id for a in second.articles]
    assert len({a.id for a in first.articles}) == len(first.articles)
    assert first.warnings == []


# --- title rules ----------------------------------------------------------------------------


def test_short_first_line_becomes_title_and_leaves_body(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Ferry back in service\n\nThe ferry returned on Tuesday.\n")
    article = one([str(path)])
    assert article.title == "Ferry back in service"
    assert article.text == "The ferry returned on Tuesday."


def test_first_line_ending_with_period_stays_in_body(tmp_path: Path) -> None:
    text = "The ferry returned on Tuesday.\nIt carries 900 people a day."
    article = one([str(write(tmp_path / "a.txt", text))])
    assert article.title == "The ferry returned on Tuesday"
    assert article.text == text


def test_markdown_heading_is_title_without_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "# The *new* ferry\n\nIt runs **every** 20 minutes.\n")
    article = one([str(path)])
    assert article.title == "The new ferry"
    assert article.text == "It runs every 20 minutes."


def test_txt_front_matter_is_honoured(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Ferry returns\nurl: https://example.org/f\ndate: 2024-05-01T08:00:00+02:00\n"
        "section: Local\n---\nThe ferry returned on Tuesday after repairs.\n"
    )
    article = one([str(write(tmp_path / "a.txt", text))])
    assert article.title == "Ferry returns"
    assert article.url == "https://example.org/f"
    assert article.published == datetime.fromisoformat("2024-05-01T08:00:00+02:00")
    assert article.section == "Local"
    assert article.text == "The ferry returned on Tuesday after repairs."


def test_front_matter_unsafe_url_is_dropped_and_bad_yaml_raises(tmp_path: Path) -> None:
    ok = write(tmp_path / "a.md", "---\ntitle: X\nurl: javascript:alert(1)\n---\nSome text here.\n")
    assert one([str(ok)]).url is None
    bad = write(tmp_path / "b.md", "---\ntitle: [unclosed\n---\nSome text.\n")
    with pytest.raises(InputError, match=r"b\.md: front matter is not valid YAML"):
        load_inputs([str(bad)])


def test_make_article_drops_a_first_line_repeating_the_title() -> None:
    article = make_article(
        "Ferry returns\nThe ferry is back.", title="Ferry  returns", source="feed"
    )
    assert article.text == "The ferry is back."
    assert article.title == "Ferry returns"


# --- HTML -----------------------------------------------------------------------------------


def test_html_fetched_url_wins_over_canonical() -> None:
    article = article_from_html(
        PAGE.encode(), url="https://example.org/ferry?from=feed", source="x"
    )
    assert article.url == "https://example.org/ferry?from=feed"
    assert article.title == "Harbour ferry returns"
    assert "Home" not in article.text and "All rights reserved" not in article.text
    assert article_from_html(PAGE, source="x").url == "https://example.org/ferry"


def test_html_without_main_text_raises() -> None:
    page = "<html><head><title>Hi</title></head><body><nav><a href='/'>Home</a></nav></body></html>"
    with pytest.raises(InputError, match="page.html: no article text found"):
        article_from_html(page, source="page.html")


# --- encodings and bad files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "lang"),
    [
        (TURKISH, "cp1254", "tr"),
        (TURKISH, "iso8859-9", "tr"),
        (GERMAN, "latin-1", "de"),
        (SPANISH, "latin-1", "es"),
        (SPANISH, "cp1252", "es"),
    ],
)
def test_legacy_encodings_come_out_right(
    tmp_path: Path, text: str, encoding: str, lang: str
) -> None:
    path = write(tmp_path / "legacy.txt", text.encode(encoding))
    article = one([str(path)])
    assert article.text == text
    assert article.source_lang == lang


def test_html_declared_legacy_charset(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="windows-1254"><title>Köprü kararı</title></head><body>'
        f"<article><h1>Köprü kararı</h1><p>{TURKISH}</p></article></body></html>"
    )
    article = one([str(write(tmp_path / "tr.htm", page.encode("cp1254")))])
    assert (article.title, article.text, article.source_lang) == (
        "Köprü kararı",
        TURKISH.replace("\n", " "),
        "tr",
    )


def test_utf16_with_bom_is_text() -> None:
    assert decode_bytes(GERMAN.encode("utf-16"), source="x") == GERMAN


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        random.Random(7).randbytes(4000).replace(b"\x00", b"\x01"),  # noise without NUL
        b"text\x01\x02\x03\x04\x05\x06\x07\x08" * 50,  # valid UTF-8, but control characters
    ],
)
def test_binary_file_is_refused(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path / "image.txt", data)
    with pytest.raises(InputError, match=r"image\.txt: looks like a binary file, not an article"):
        load_inputs([str(path)])


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n  "])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "empty.md", content)
    with pytest.raises(InputError, match=r"empty\.md: empty file$"):
        load_inputs([str(path)])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.txt: no such file$"):
        load_inputs([str(tmp_path / "nope.txt")])


def test_file_over_size_limit_names_size_and_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "word " * 300)
    with pytest.raises(InputError, match=r"big\.txt: 1,500 bytes, over the limit of 1,000 bytes"):
        load_inputs([str(path)], max_bytes=1000)


def test_unsupported_extension_lists_supported(tmp_path: Path) -> None:
    path = write(tmp_path / "report.pdf", "text")
    with pytest.raises(InputError, match=r"report\.pdf: unsupported file type '\.pdf'") as info:
        load_inputs([str(path)])
    assert all(suffix in info.value.message for suffix in SUPPORTED_SUFFIXES)


def test_no_inputs() -> None:
    with pytest.raises(InputError, match="no input articles"):
        load_inputs([])


# --- stdin ----------------------------------------------------------------------------------


def test_stdin_text() -> None:
    data = ("Ferry back\n" + GERMAN).encode("utf-8")
    article = one(["-"], stdin=io.BytesIO(data))
    assert article.source == "stdin"
    assert article.title == "Ferry back"
    assert article.source_lang == "de"


def test_stdin_html_and_markdown_are_recognised() -> None:
    html = one(["-"], stdin=io.BytesIO(PAGE.encode()))
    assert html.title == "Harbour ferry returns"
    assert "<p>" not in html.text and "Sport" not in html.text
    md = one(["-"], stdin=io.BytesIO(b"# Ferry *back*\n\nIt runs **again** today.\n"))
    assert (md.title, md.text) == ("Ferry back", "It runs again today.")


def test_stdin_limits() -> None:
    with pytest.raises(InputError, match="stdin: empty"):
        load_inputs(["-"], stdin=io.BytesIO(b"\n \n"))
    with pytest.raises(InputError, match="stdin: more than 10 bytes"):
        load_inputs(["-"], stdin=io.BytesIO(b"x" * 11), max_bytes=10)
    with pytest.raises(InputError, match="only once"):
        load_inputs(["-", "-"], stdin=io.BytesIO(b"text"))


# --- folders and duplicates -----------------------------------------------------------------


def test_folder_walk_skips_bad_hidden_and_other_files(tmp_path: Path) -> None:
    write(tmp_path / "b" / "two.md", "# Two\n\nSecond story text.\n")
    write(tmp_path / "a.txt", "One\nFirst story text.\n")
    write(tmp_path / "c.HTML", PAGE)
    write(tmp_path / "b" / "bad.txt", b"\x00\x01\x02binary")
    write(tmp_path / "empty.txt", "")
    write(tmp_path / ".hidden.txt", "Hidden\nNot to be read.\n")
    write(tmp_path / ".git" / "x.txt", "Git\nNot to be read.\n")
    write(tmp_path / "notes.json", "{}")
    result = load_inputs([str(tmp_path)])
    assert [Path(a.source).relative_to(tmp_path).as_posix() for a in result.articles] == [
        "a.txt",
        "b/two.md",
        "c.HTML",
    ]
    assert result.warnings == [
        f"{tmp_path / 'b' / 'bad.txt'}: looks like a binary file, not an article (skipped)",
        f"{tmp_path / 'empty.txt'}: empty file (skipped)",
    ]


def test_folder_without_usable_articles(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no article files"):
        load_inputs([str(tmp_path)])
    write(tmp_path / "bad.txt", b"\x00\x00")
    with pytest.raises(InputError, match=r"no usable article \(1 skipped, first: .*bad\.txt"):
        load_inputs([str(tmp_path)])


def test_duplicates_are_kept_once_with_a_warning(tmp_path: Path) -> None:
    first = write(tmp_path / "one.txt", "Ferry\nThe ferry is back.\n")
    second = write(tmp_path / "two.txt", "Ferry\r\n\r\nThe  ferry is back.\u200b\nShare\n")
    result = load_inputs([str(first), str(second)])
    assert [a.source for a in result.articles] == [str(first)]
    assert result.warnings == [f"duplicate of {first}: {second}"]


# --- trimming -------------------------------------------------------------------------------


def test_long_article_is_trimmed_at_a_sentence_and_reported(tmp_path: Path) -> None:
    sentences = [f"Sentence number {i} says something about the ferry." for i in range(200)]
    path = write(tmp_path / "long.txt", "Long story\n" + " ".join(sentences))
    result = load_inputs([str(path)], max_tokens=100)
    article = result.articles[0]
    assert article.trimmed is not None
    assert article.text.endswith("about the ferry.")
    assert estimate_tokens(article.text) <= 100
    assert article.trimmed.kept_chars == len(article.text)
    kept = article.text.count("ferry.")
    assert article.text == " ".join(sentences[:kept])
    assert estimate_tokens(" ".join(sentences[: kept + 1])) > 100  # no room for one more
    assert article.trimmed.strategy == f"kept the first {kept} of 200 sentences (token budget 100)"
    assert result.warnings == [
        f"{path}: trimmed from {article.trimmed.original_chars:,} to {len(article.text):,} "
        f"characters ({article.trimmed.strategy})"
    ]


def test_trim_never_cuts_after_an_abbreviation() -> None:
    text = " ".join(["Mr. Smith met U.S. officials on Monday. Talks ended."] * 3)
    ends = sentence_ends(text)
    assert len(ends) == 6
    assert text[: ends[0]] == "Mr. Smith met U.S. officials on Monday."
    kept, note = trim_to_budget(text, 12)
    assert kept == "Mr. Smith met U.S. officials on Monday."
    assert note is not None and note.strategy == "kept the first 1 of 6 sentences (token budget 12)"


def test_trim_within_budget_and_word_fallback() -> None:
    assert trim_to_budget("Short text.", 10) == ("Short text.", None)
    kept, note = trim_to_budget("word " * 100, 10)
    assert kept.endswith("word…") and estimate_tokens(kept) <= 10
    assert note is not None and "word boundary" in note.strategy
    with pytest.raises(ValueError):
        trim_to_budget("x", 0)


def test_token_estimate_is_conservative_for_other_scripts() -> None:
    assert estimate_tokens("abcd" * 10) == 10
    assert estimate_tokens("ğüşö" * 10) == 20
    assert estimate_tokens("北京市政府" * 2) == 10


# --- cleaning -------------------------------------------------------------------------------


def test_clean_text_whitespace_and_invisible_characters() -> None:
    raw = "  Hello\u00a0\u00a0world\u200b  it´s\there \r\n\r\n\r\n\r\nSecond\u2028line\ufeff"
    assert clean_text(raw) == "Hello world it’s here\n\nSecond\nline"


def test_clean_text_keeps_curly_quotes_and_normalises_nfc() -> None:
    assert (
        clean_text("„Ja“, sagte er. “Yes,” she said. «Oui»")
        == "„Ja“, sagte er. “Yes,” she said. «Oui»"
    )
    assert clean_text("Cafe\u0301") == "Caf\u00e9"


def test_clean_text_drops_residue_only_at_the_edges() -> None:
    raw = (
        "Skip to content\nWe use cookies to improve your experience. Accept?\n\n"
        "The ferry is back.\nShare\nComments\nAdvertisement\n"
        "Read more about the plan on the council website.\n\n"
        "Share this:\nLike this:\nLike Loading...\n3 Comments\nLeave a comment\n"
        "Yorumlar\nArtikel teilen\nLire aussi : Le pont\nDiscussion about this post\n"
    )
    cleaned = clean_text(raw)
    assert cleaned == (
        "The ferry is back.\nShare\nComments\nRead more about the plan on the council website."
    )
    assert clean_text(cleaned) == cleaned  # idempotent: ids stay stable when cleaned twice


@pytest.mark.parametrize(
    "line",
    [
        "Discussion about this post",
        "Share this:",
        "» Read more: Bus fares rise",
        "Paylaş",
        "12 Comments",
        "Related articles",
        "Advertisement",
        "Wir verwenden Cookies.",
    ],  # fmt: skip
)
def test_residue_lines(line: str) -> None:
    assert is_residue_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Share prices fell 3 percent on Monday.",
        "Comments from the mayor were brief.",
        "Reklam yasağı meclisten geçti.",
        "x" * 300,
    ],  # fmt: skip
)
def test_not_residue_lines(line: str) -> None:
    assert not is_residue_line(line)


def test_strip_markdown_keeps_text_and_structure() -> None:
    md = (
        "Some **bold** and _italic_ text with a [link](https://x.org)\nthat wraps.\n\n"
        "1. first\n2. second\n\n![photo](a.png)\n\n```\ncode stays\n```\n\nsnake_case_name stays"
    )
    assert strip_markdown(md) == (
        "Some bold and italic text with a link that wraps.\n\n1. first\n2. second\n\n"
        "code stays\n\nsnake_case_name stays"
    )


def test_detect_language() -> None:
    assert detect_language(GERMAN) == "de"
    assert detect_language(TURKISH) == "tr"
    assert detect_language("Hello") is None
    assert detect_language("12 345 678, 9.5%") is None


def test_parse_published() -> None:
    assert parse_published("2024-03-12") == datetime(2024, 3, 12)
    assert parse_published("Tue, 12 Mar 2024 09:30:00 +0000") == datetime.fromisoformat(
        "2024-03-12T09:30:00+00:00"
    )
    assert parse_published("last week") is None and parse_published(None) is None
