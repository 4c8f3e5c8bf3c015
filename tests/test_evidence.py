"""Every published sentence with its evidence: footnotes for readers (--evidence), the
preview's evidence page, labels for text that is not this language's own summary, and the
manifest's claim -> evidence ids -> check results. Real CLI, loopback server, real preview."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.cli import invoke
from support.openai_server import FakeOpenAI, Fault
from support.paths import SEED, SEEDS
from support.serving import serving

from digest.ingest.sentences import split_sentences
from digest.output.preview import make_server

TURKISH = SEEDS / "003_kiyikent_kutuphane_tr.txt"


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text("utf-8"))
    return data


def english_sentences() -> list[str]:
    text = SEED.read_text("utf-8")
    return split_sentences(text.split("\n", 1)[1] if text.startswith("#") else text, "en")


def test_evidence_footnotes_quote_the_cited_sentences_in_every_format(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = invoke(capsys, "run", str(SEED), "--lang", "en,ar", "--out", "out", "--evidence")
    assert result.code == 0, result.err
    out = tmp_path / "out"
    [english] = [r for r in manifest(out)["results"] if r["lang"] == "en"]
    claims = english["summary"]["sentences"] + english["summary"]["points"]
    md = (out / "digest.en.md").read_text("utf-8")
    html = (out / "digest.en.html").read_text("utf-8")
    text = (out / "digest.en.txt").read_text("utf-8")
    for number in range(1, len(claims) + 1):
        assert f"[^{number}]" in md and f"\n[^{number}]: “" in md
        assert re.search(rf'<a href="#ev-{number}"[^>]*>{number}</a>', html)
        assert f'id="ev-{number}"' in html and f"[{number}]" in text
    # The note quotes the very sentence the claim cites (ids number the article's sentences).
    first = claims[0]["evidence"][0]
    cited = md.split("\n[^1]: “", 1)[1].replace("\\", "")
    assert cited.startswith(english_sentences()[first - 1][:40])
    # The Arabic edition quotes the English source sentences its translated claims rest on.
    arabic = (out / "digest.ar.html").read_text("utf-8")
    assert 'id="ev-1"' in arabic and "<bdi>“" in arabic


def test_without_evidence_readers_get_no_notes(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert invoke(capsys, "run", str(SEED), "--lang", "en", "--out", "out").code == 0
    md = (tmp_path / "out" / "digest.en.md").read_text("utf-8")
    assert "[^" not in md and "Evidence" not in md


def test_the_manifest_records_claims_evidence_and_check_results_per_language(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert invoke(capsys, "run", str(SEED), "--lang", "en,tr", "--out", "out").code == 0
    for story in manifest(tmp_path / "out")["results"]:
        for claim in story["summary"]["sentences"] + story["summary"]["points"]:
            assert claim["evidence"], (story["lang"], claim)
            names = {c["name"] for c in claim["checks"]}
            if story["lang"] == "en":  # the article's own language: every claim check ran
                assert {"citations", "cited numbers", "cited names", "support"} <= names


def test_an_extract_and_the_article_language_fallback_are_labelled(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Every answer comes back in English: the Turkish summary and its German translation fail.
    endpoint_env.set_default(Fault.wrong_language("en"))
    result = invoke(capsys, "run", str(TURKISH), "--lang", "tr,de", "--out", "out")
    assert result.code == 3  # a language shows another language's text: partial
    assert "extract shown" in result.err and "shown in tr" in result.err
    out = tmp_path / "out"
    origins = {r["lang"]: (r["origin"], r["shown_lang"]) for r in manifest(out)["results"]}
    assert origins == {"tr": ("extract", None), "de": ("source-language", "tr")}
    article = TURKISH.read_text("utf-8")
    turkish = (out / "digest.tr.md").read_text("utf-8")
    assert "*Haberin kendi temel cümleleri: özetimiz otomatik denetimlerden geçemedi.*" in turkish
    german = (out / "digest.de.html").read_text("utf-8")
    # The article's language named as the reader's language names it.
    assert "Keine geprüfte Übersetzung in dieser Sprache; die Zusammenfassung auf Türkisch:" in (
        german
    )
    assert '<div lang="tr" dir="ltr">' in german  # the Turkish text is marked as Turkish
    for line in re.findall(r"^- (.+)$", turkish, flags=re.MULTILINE):
        assert line in article  # an extract: the article's own sentences
    assert "Officials" not in turkish and "Officials" not in german


def test_the_preview_shows_each_claims_evidence_highlighted_and_its_checks(
    endpoint_env: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert invoke(capsys, "run", str(SEED), "--lang", "en,tr", "--out", "out").code == 0
    out = tmp_path / "out"
    [english] = [r for r in manifest(out)["results"] if r["lang"] == "en"]
    first = english["summary"]["sentences"][0]
    with (
        serving(make_server(out, "127.0.0.1", 0)) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        assert 'href="/evidence/en"' in client.get("/").text
        page = client.get("/evidence/en")
        turkish = client.get("/evidence/tr").text
        assert client.get("/evidence/xx").status_code == 404
    assert page.status_code == 200
    html = page.text
    assert html.count("<details") == len(english["summary"]["sentences"]) + len(
        english["summary"]["points"]
    )
    cited = english_sentences()[first["evidence"][0] - 1]
    assert f"<mark>{cited[:40]}" in html.replace("&#39;", "'").replace("&#34;", '"')
    assert "support: ok" in html and "cited numbers: ok" in html
    assert "<mark>" in turkish  # a translation's claims point at the English source sentences
