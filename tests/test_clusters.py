"""Event clustering (digest.ingest.clusters) and where sources disagree (disagreements)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from digest.ingest.clusters import ANCHOR_THRESHOLD, Tuning, cluster_articles
from digest.ingest.disagreements import find_disagreements
from digest.ingest.event_features import features, parse_figure
from digest.models import Article

T0 = datetime(2026, 3, 11, 7, 0, tzinfo=timezone(timedelta(hours=3)))

QUAKE_EN = """A magnitude 5.8 earthquake struck the eastern Turkish province of Malatya before
dawn on Wednesday, killing 13 people and injuring 112, the disaster agency AFAD said. The
quake hit at 4:12 a.m. at a depth of 7 kilometres, with its epicentre in the district of
Puturge. Interior Minister Levent Ozkan said 36 buildings had collapsed in villages around
Puturge and Yazihan. AFAD recorded 47 aftershocks."""

QUAKE_TR = """Malatya'nın Pütürge ilçesinde saat 04.12'de meydana gelen 5,8 büyüklüğündeki
depremde 15 kişi hayatını kaybetti, 112 kişi yaralandı. AFAD'ın açıklamasına göre deprem
yerin 7 kilometre derinliğinde gerçekleşti. İçişleri Bakanı Levent Özkan, 36 binanın
yıkıldığını söyledi. Pütürge ve Yazıhan'da çadır kentler kuruluyor. AFAD 47 artçı sarsıntı
kaydetti."""

QUAKE_DE = """Ein Erdbeben der Stärke 5,8 hat in der Provinz Malatya 13 Tote gefordert,
112 Menschen wurden verletzt, wie die Behörde AFAD mitteilte. Das Beben ereignete
sich um 4.12 Uhr in einer Tiefe von sieben Kilometern im Landkreis Pütürge. Innenminister
Levent Özkan sagte, 36 Gebäude seien eingestürzt. Die AFAD zählte 47 Nachbeben."""

# Same kind of event, same day, another province: shares the topic words, not the facts.
VAN_EN = """A magnitude 4.9 earthquake shook the Ercis district of Turkey's eastern Van
province on Wednesday afternoon, damaging around 40 buildings and lightly injuring three
people, the disaster agency AFAD said. The tremor struck at 1:40 p.m. at a depth of 10 km
near Lake Van. Van Governor Ozan Balci said no building collapsed. Schools in Ercis were
closed. AFAD recorded 11 aftershocks."""

VAN_TR = """Van'ın Erciş ilçesinde saat 13.40'ta 4,9 büyüklüğünde deprem meydana geldi. AFAD'ın
verilerine göre deprem yerin 10 kilometre derinliğinde gerçekleşti. Van Valisi Ozan Balcı,
can kaybı olmadığını, 3 vatandaşın hafif yaralandığını, yaklaşık 40 binada çatlak
oluştuğunu söyledi. Erciş'te okullar tatil edildi. AFAD 11 artçı sarsıntı kaydetti."""


def article(
    text: str,
    lang: str,
    *,
    title: str = "",
    hours: float | None = 0.0,
    url: str | None = None,
) -> Article:
    body = " ".join(text.split())
    return Article(
        id=hashlib.sha256(body.encode()).hexdigest()[:16],
        title=title or body.split(".")[0][:60],
        text=body,
        url=url,
        published=None if hours is None else T0 + timedelta(hours=hours),
        source=f"test/{lang}",
        source_lang=lang,
    )


def together(result_ids: list[list[str]], a: Article, b: Article) -> bool:
    return any(a.id in ids and b.id in ids for ids in result_ids)


def groups(articles: list[Article], **kwargs: object) -> list[list[str]]:
    result = cluster_articles(articles, **kwargs)  # type: ignore[arg-type]
    return [c.article_ids for c in result.clusters]


def test_same_event_in_three_languages_merges_and_lookalike_stays_apart() -> None:
    en, tr, de = article(QUAKE_EN, "en"), article(QUAKE_TR, "tr"), article(QUAKE_DE, "de")
    van_en, van_tr = article(VAN_EN, "en", hours=6), article(VAN_TR, "tr", hours=6)
    found = groups([en, van_en, tr, van_tr, de])
    assert together(found, en, tr) and together(found, tr, de) and together(found, en, de)
    assert together(found, van_en, van_tr)
    assert not together(found, en, van_en)
    assert not together(found, tr, van_tr)
    assert len(found) == 2


def test_result_reports_method_scores_and_params() -> None:
    en, tr = article(QUAKE_EN, "en"), article(QUAKE_TR, "tr")
    result = cluster_articles([en, tr])
    assert result.method == "lexical"
    [cluster] = result.clusters
    assert cluster.languages == ["en", "tr"]
    [merge] = cluster.merges
    assert merge.kind == "anchors" and merge.evidence >= 1 and merge.linkage >= 0.5
    assert result.params.window_hours == 48
    assert result.model_dump(mode="json")["clusters"][0]["article_ids"] == [en.id, tr.id]


def test_window_separates_and_undated_may_join() -> None:
    en = article(QUAKE_EN, "en", hours=0)
    tr_late = article(QUAKE_TR, "tr", hours=60)
    assert len(groups([en, tr_late], window_hours=48)) == 2
    assert len(groups([en, tr_late], window_hours=72)) == 1
    assert len(groups([en, article(QUAKE_TR, "tr", hours=None)])) == 1


def test_window_is_kept_inside_a_cluster_even_through_an_undated_bridge() -> None:
    early, late = article(QUAKE_EN, "en", hours=0), article(QUAKE_DE, "de", hours=60)
    bridge = article(QUAKE_TR, "tr", hours=None)
    found = groups([early, bridge, late], window_hours=48)
    assert not together(found, early, late)


def test_fake_embedder_decides_alone_and_joins_lexical() -> None:
    """Vectors by event keyword: the embedder, not the words, says what belongs together."""

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0, 0.1] if "Malatya" in t else [0.0, 1.0, 0.1] for t in texts]

    en, tr = article(QUAKE_EN, "en"), article(QUAKE_TR, "tr")
    van = article(VAN_EN, "en", hours=2)
    result = cluster_articles([en, van, tr], embed=embed, method="embeddings")
    assert result.method == "embeddings"
    ids = [c.article_ids for c in result.clusters]
    assert together(ids, en, tr) and not together(ids, en, van)
    assert result.clusters[0].merges[0].kind == "embeddings"

    joined = cluster_articles([en, van, tr], embed=embed)
    assert joined.method == "lexical+embeddings"
    assert together([c.article_ids for c in joined.clusters], en, tr)

    def contrary(texts: list[str]) -> list[list[float]]:  # says every text is unrelated
        return [[1.0 if i == n else 0.0 for i in range(len(texts))] for n in range(len(texts))]

    # Joined, the two scores are averaged: a contrary embedder halves the lexical evidence.
    lexical = cluster_articles([en, tr]).clusters[0].merges[0].evidence
    halved = cluster_articles([en, tr], embed=contrary).clusters[0].merges[0].evidence
    assert halved == pytest.approx(lexical / 2, abs=1e-3)
    with pytest.raises(ValueError):
        cluster_articles([en, tr], method="embeddings")


def test_confirm_hook_can_refuse_a_borderline_merge() -> None:
    en, tr = article(QUAKE_EN, "en"), article(QUAKE_TR, "tr")
    asked: list[tuple[str, str]] = []

    def refuse(a: Article, b: Article) -> bool:
        asked.append((a.id, b.id))
        return False

    # Raise the bar so that this pair is borderline (evidence just over 1).
    base = cluster_articles([en, tr]).clusters[0].merges[0].evidence
    tuning = Tuning(anchor_threshold=ANCHOR_THRESHOLD * base / 1.1)
    result = cluster_articles([en, tr], confirm=refuse, tuning=tuning)
    assert asked and len(result.clusters) == 2 and result.rejected_merges == 1


def test_no_chaining_through_one_weak_link() -> None:
    """Two tight groups of different events joined by one article mentioning both do not
    become one cluster: the average link between the groups is too weak."""
    quake = [article(QUAKE_EN, "en"), article(QUAKE_DE, "de"), article(QUAKE_TR, "tr")]
    van = [article(VAN_EN, "en", hours=5), article(VAN_TR, "tr", hours=5)]
    found = groups([*quake, *van, article(QUAKE_EN + " " + VAN_EN, "en", hours=6)])
    assert not together(found, quake[0], van[0])


def test_figures_read_by_language() -> None:
    assert parse_figure("8.000", "de") == parse_figure("8,000", "en") == 8000
    assert parse_figure("5,8", "tr") == parse_figure("5.8", "en") == 5.8
    assert parse_figure("4:12", "en") == 4.12
    text = "Tahliye: 8 bin 500 kişi. Depremde 2 bin 300 çadır."
    tr = features(article(text, "tr", title="Deprem"))
    assert [v for v, _ in tr.figures] == [8500, 2300]
    ar = features(article("قتل ١٣ شخصا في ملاطية", "ar", title="زلزال"))
    assert [v for v, _ in ar.figures] == [13] and not ar.latin


def test_disagreement_on_a_death_toll_is_found_with_sources() -> None:
    en = article(QUAKE_EN, "en", url="https://wire.example/a")
    tr = article(QUAKE_TR, "tr", url="https://gazete.example/b")
    de = article(QUAKE_DE, "de", url="https://www.zeitung.example/c")
    [found] = find_disagreements([en, tr, de])
    assert found.what == "dead"
    assert [(c.value, c.sources) for c in found.values] == [
        ("13", ["wire.example", "zeitung.example"]),
        ("15", ["gazete.example"]),
    ]
    assert found.text() == (
        "Sources differ on dead: 13 (wire.example, zeitung.example), 15 (gazete.example)"
    )


def test_no_false_disagreement() -> None:
    same_en = article(QUAKE_EN, "en", url="https://wire.example/a")
    same_de = article(QUAKE_DE, "de", url="https://zeitung.example/c")
    assert find_disagreements([same_en, same_de]) == []
    # An update from the same outlet is not a disagreement.
    update = article(QUAKE_EN.replace("13", "15"), "en", hours=3, url="https://wire.example/u")
    assert find_disagreements([same_en, update]) == []
    # "at least 13" is not contradicted by 15; "rose from 13 to 15" contradicts nobody.
    least = article("At least 13 people were killed in the quake.", "en", url="https://a.example")
    more = article("The quake killed 15 people.", "en", url="https://b.example")
    rose = article("The toll rose from 13 to 15 killed.", "en", url="https://c.example")
    assert find_disagreements([least, more]) == []
    assert find_disagreements([rose, more]) == []
    # An age next to a death is not a death toll; transliterated names are the same name.
    age = article("A 68-year-old man died in the fire.", "en", url="https://d.example")
    toll = article(
        "One man died in the fire, 3 people were injured.", "en", url="https://e.example"
    )
    assert find_disagreements([age, toll]) == []
    van_en = article(VAN_EN, "en", url="https://wire.example/v")
    van_tr = article(VAN_TR, "tr", url="https://gazete.example/v")
    assert find_disagreements([van_en, van_tr]) == []


def test_name_disagreement_needs_same_given_name() -> None:
    a = article("Governor Hüseyin Kara said 400 people left.", "en", url="https://a.example")
    b = article("Governor Huseyin Kaya said 400 people left.", "en", url="https://b.example")
    c = article("Governor Mehmet Demir visited the town.", "en", url="https://c.example")
    [found] = find_disagreements([a, b])
    assert found.kind == "name" and found.what == "governor"
    assert find_disagreements([a, c]) == []


def test_one_language_and_featureless_batches_cluster_without_error() -> None:
    """No anchors are shared across languages when there is one language; an article of
    stop words only has no features at all: neither may crash the day's clustering."""
    en, van = article(QUAKE_EN, "en"), article(VAN_EN, "en", hours=6)
    again = article(QUAKE_EN + " More to follow.", "en", hours=1)
    found = groups([en, van, again])
    assert together(found, en, again) and not together(found, en, van)
    empty = [article("the and of", "en"), article("to be or not", "en")]
    assert len(groups(empty)) == 2
