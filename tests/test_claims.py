"""Claim checks: each point against the article sentences it cites (digest.checks.claims)."""

# ruff: noqa: E501  (the cases are whole sentences, easier to read unbroken)

from __future__ import annotations

import pytest
from support.paths import REPO

from digest.checks.claims import (
    CLAIM_CHECKS,
    CLAIM_HINTS,
    SUPPORT_MIN,
    SourceSentences,
    check_claim,
    check_headline,
)
from digest.checks.lexicon import lexicon, unnegated_tr
from digest.ingest.files import read_file
from digest.models import Check


def article(path: str, lang: str) -> SourceSentences:
    return SourceSentences.from_text(read_file(REPO / path, max_tokens=100_000).text, lang)


@pytest.fixture(scope="module")
def sources() -> dict[str, SourceSentences]:
    return {
        "en": article("seeds/000_e2a5421fd2ec2f6f.txt", "en"),
        "en2": article("bench/samples/en_harbour_strike.txt", "en"),
        "de": article("bench/samples/de_stadtwerke_solar.txt", "de"),
        "tr": article("seeds/003_kiyikent_kutuphane_tr.txt", "tr"),
        "fr": article("bench/samples/fr_hopital_urgences.txt", "fr"),
        "es": article("bench/samples/es_sequia_embalses.txt", "es"),
        "ar": article("bench/samples/ar_water_project.txt", "ar"),
    }


def failed(checks: list[Check]) -> dict[str, str]:
    return {c.name: c.detail for c in checks if c.status == "fail"}


def test_sentences_are_numbered(sources: dict[str, SourceSentences]) -> None:
    seed = sources["en"]
    assert seed.numbered().startswith("[1] Turkey has fulfilled its responsibilities")
    assert "[9] “We cannot overlook the cruelty" in seed.numbered()
    assert len(seed) == seed.numbered().count("\n") + 1


def test_every_check_reports_once_with_a_hint(sources: dict[str, SourceSentences]) -> None:
    checks = check_claim("Turkey hosts more than 3.6 million Syrian refugees.", [9], sources["en"])
    assert [c.name for c in checks] == [spec.name for spec in CLAIM_CHECKS]
    assert all(c.status == "ok" for c in checks)
    assert set(CLAIM_HINTS) == {spec.name for spec in CLAIM_CHECKS}


# Faithful paraphrases written as a model would (synonyms, merged clauses, full names), with
# their right citations. They calibrate SUPPORT_MIN: all keep >= 0.71 of their content words.
FAITHFUL = [
    ("en", "Vice President Fuat Oktay said Turkey has fulfilled its responsibilities in Idlib.", [1]),
    ("en", "A Syrian regime offensive has strained cooperation between Ankara and Moscow after 13 Turkish soldiers were killed.", [3]),
    ("en", "The Turkish military hit 54 regime targets and killed 76 regime soldiers in response, the defence ministry said.", [4]),
    ("en", "Ankara has threatened to use military power unless Syrian forces withdraw by the end of February.", [5]),
    ("en", "Erdogan said Turkey would hit regime forces everywhere if its soldiers in observation posts were harmed.", [6]),
    ("en", "Turkey, which hosts more than 3.6 million Syrian refugees, says it cannot handle a new wave of migrants from Idlib.", [9]),
    ("en", "Around 800,000 people have fled their homes in northwestern Syria since early December, according to the United Nations.", [16]),
    ("en", "A Turkish delegation will visit Russia next week for talks on the clashes in Idlib, Foreign Minister Mevlut Cavusoglu said.", [13]),
    ("en", "Turkey and Russia agreed in 2018 to set up a de-escalation zone in Idlib, although they back opposing sides.", [2, 1]),
    ("en2", "Port of Alden dock workers went back to work on Friday after their union accepted a pay offer, ending a four-day strike.", [1]),
    ("en2", "Alden Terminals chief executive David Brennan said the company would not cut jobs to pay for the rise.", [4]),
    ("en2", "Clearing the backlog of ships will take at least ten days, Brennan said.", [8]),
    ("de", "Die Stadtwerke Lindenau planen bis Ende 2026 einen Solarpark mit 48 Megawatt auf einer früheren Kiesgrube.", [1]),
    ("de", "Der Park kostet rund 41 Millionen Euro und soll etwa 14.000 Haushalte versorgen.", [2, 13]),
    ("de", "Die Freien Wähler stimmten dagegen, weil die Anwohner nicht früh genug beteiligt worden seien.", [4, 5]),
    ("de", "Der Landkreis verpachtet die Fläche für 30 Jahre an die Stadtwerke, für 180.000 Euro im Jahr.", [6, 7]),
    ("tr", "Kıyıkent Belediyesi eski liman deposunu şehir kütüphanesine dönüştürdü ve kütüphane pazartesi açıldı.", [1]),
    ("tr", "Proje 14 ay sürdü ve 62 milyon liraya mal oldu.", [3]),
    ("tr", "Eski depo 1950'lerde inşa edildi ve yaklaşık 20 yıl boş kaldı.", [9]),
    ("fr", "L'hôpital de Valmont fermera ses urgences la nuit à partir du 1er février, faute de médecins.", [1]),
    ("fr", "Selon le directeur Philippe Moreau, 7 postes d'urgentistes sur 12 sont vacants.", [3]),
    ("es", "A partir del lunes se reducirá un 20 por ciento el agua para riego, anunció Lucía Navarro.", [2]),
    ("es", "Javier Ortega pidió ayudas de 300 euros por hectárea para los agricultores.", [5]),
    ("ar", "قال الوزير سامي الحداد إن المحطة ستوفر مياه الشرب لنحو 1.2 مليون نسمة.", [2]),
    ("ar", "بلغت تكلفة المشروع 380 مليون دولار.", [3]),
]  # fmt: skip


@pytest.mark.parametrize(("key", "claim", "evidence"), FAITHFUL)
def test_faithful_paraphrases_pass(
    sources: dict[str, SourceSentences], key: str, claim: str, evidence: list[int]
) -> None:
    assert failed(check_claim(claim, evidence, sources[key])) == {}


# Distortions seen from small models, and invented ones in each language.
DISTORTED = [
    ("en", "Turkish forces have launched airstrikes.", [4]),
    ("en", "Erdogan said Turkey would carry out operations to suppress opposition groups.", [6]),
    ("en", "Russia and Turkey signed a new peace treaty in Moscow.", [13]),
    ("en2", "Supermarkets ran out of food across the country.", [5]),
    ("de", "Die Stadtwerke verkaufen ihre Anteile an einen Investor aus München.", [1]),
    ("tr", "Kütüphane yalnızca öğrencilere açık olacak ve ücretli üyelik gerekecek.", [5]),
    ("fr", "Le gouvernement a décidé de fermer définitivement l'hôpital.", [1]),
    ("es", "Los agricultores han convocado una huelga general en toda la región.", [3]),
    ("ar", "رفضت الحكومة تمويل المشروع بسبب الأزمة الاقتصادية.", [3]),
]


@pytest.mark.parametrize(("key", "claim", "evidence"), DISTORTED)
def test_unsupported_claims_fail(
    sources: dict[str, SourceSentences], key: str, claim: str, evidence: list[int]
) -> None:
    problems = failed(check_claim(claim, evidence, sources[key], label="key point 2"))
    assert "support" in problems
    assert problems["support"].startswith("key point 2: ")
    assert f"only {SUPPORT_MIN:.0%}" not in problems["support"]


def test_the_suppress_opposition_distortion_names_its_words(
    sources: dict[str, SourceSentences],
) -> None:
    claim = "Erdogan said Turkey would carry out operations to suppress opposition groups."
    detail = failed(check_claim(claim, [6], sources["en"], label="summary sentence 2"))["support"]
    assert detail.startswith('summary sentence 2: "carry", "operations", "suppress"')
    assert "not in sentence [6]" in detail


def test_numbers_must_stand_in_the_cited_sentences(sources: dict[str, SourceSentences]) -> None:
    seed = sources["en"]
    problems = failed(
        check_claim("Turkey hosts 15 million Syrian refugees.", [9], seed, label="key point 2")
    )
    assert problems["cited numbers"] == (
        'key point 2: "15 million" is not in sentence [9] (nor anywhere in the article)'
    )
    problems = failed(check_claim("The Turkish military hit 54 regime targets.", [3, 5], seed))
    assert (
        problems["cited numbers"]
        == 'claim: "54" is not in sentences [3, 5] (it is in sentence [4])'
    )
    # locale formats: 3,6 milyon is 3.6 million
    assert "cited numbers" not in failed(
        check_claim("Türkiye 3,6 milyon Suriyeli mülteciye ev sahipliği yapıyor.", [9], seed,
                    claim_lang="tr", same_language=False)
    )  # fmt: skip


def test_names_must_stand_in_the_cited_sentences(sources: dict[str, SourceSentences]) -> None:
    seed = sources["en"]
    claim = "Vice President Fuat Oktay said Turkey has fulfilled its responsibilities in Aleppo."
    assert "nor anywhere" in failed(check_claim(claim, [1], seed))["cited names"]
    claim = "Hulusi Akar said Turkey has fulfilled its responsibilities in Idlib."
    assert failed(check_claim(claim, [1], seed))["cited names"].startswith(
        'claim: "Hulusi" is not in sentence [1] (it is in sentence [12])'
    )
    # German: a capitalised common noun is left to the support check, a name is not
    solar = sources["de"]
    claim = "Der Park kostet rund 41 Millionen Euro und soll etwa 14.000 Haushalte versorgen."
    assert "cited names" not in failed(check_claim(claim, [2], solar))
    claim = "Geschäftsführerin Sabine Albrecht sagte, der Stadtrat habe dem Vorhaben zugestimmt."
    assert "Albrecht" in failed(check_claim(claim, [3], solar))["cited names"]


def test_citations(sources: dict[str, SourceSentences]) -> None:
    seed = sources["en"]
    checks = check_claim("Turkey hosts refugees.", [], seed, label="key point 1")
    assert failed(checks) == {"citations": "key point 1: cites no sentence"}
    assert {c.status for c in checks[1:]} == {"unverified"}
    detail = failed(check_claim("Turkey hosts refugees.", [9, 99], seed))["citations"]
    assert f"cites [99], but the article's sentences are [1] to [{len(seed)}]" in detail


@pytest.mark.parametrize(
    ("key", "claim", "evidence"),
    [
        ("en", "“We can overlook the cruelty happening in our neighbour,” Oktay said.", [9]),
        (
            "en2",
            "Alden Terminals chief executive David Brennan said the company would cut jobs.",
            [4],
        ),
        ("en2", "The union represents about 3,400 workers and will not accept the deal.", [11]),
        ("de", "Wendt kritisierte, dass die Anwohner früh genug beteiligt worden seien.", [5]),
        ("de", "Auf der Grube müssen Wälder gerodet werden.", [8]),
        ("tr", "Eski depo 1950'lerde inşa edilmedi.", [9]),
        ("fr", "L'hôpital pouvait plus payer autant d'intérimaires, selon Philippe Moreau.", [3]),
        ("es", "La confederación descarta nuevas restricciones si llueve en primavera.", [9]),
        ("ar", "وأضاف منصور أن البلدية ستتمكن من تنفيذ ذلك دون دعم إضافي من الحكومة.", [9]),
        ("ar", "وقال رئيس البلدية خالد منصور إن الشبكة الحالية لا تحتاج إلى استبدال.", [8]),
    ],
)
def test_one_sided_negation_fails(
    sources: dict[str, SourceSentences], key: str, claim: str, evidence: list[int]
) -> None:
    assert "negation" in failed(check_claim(claim, evidence, sources[key]))


def test_turkish_negation_is_morphological() -> None:
    assert unnegated_tr("gelmedi") == ("gel", True)
    assert unnegated_tr("yapmayacak") == ("yap", True)
    assert unnegated_tr("olmuyor")[1] and unnegated_tr("olmaz")[1] and unnegated_tr("etmeden")[1]
    for word in ("gelmesi", "almak", "ramazan", "namaz", "kütüphanesi", "düzenlemede"):
        assert unnegated_tr(word)[1] is False, word
    negations = lexicon("tr").negations("Bakan toplantıya gelmedi.")
    assert [n.cue for n in negations] == ["gelmedi"]


def test_swapped_participants_fail(sources: dict[str, SourceSentences]) -> None:
    seed = sources["en"]
    claim = "But a Syrian regime offensive has disrupted cooperation, after 13 Syrian soldiers were killed by Turkish attacks."
    assert "roles" in failed(check_claim(claim, [3], seed))
    claim = "Turkey has fulfilled its responsibilities in Idlib in line with its agreements with Oktay and Iran, Russia said on Saturday."
    assert "roles" in failed(check_claim(claim, [1], seed))
    # a list in another order is no swap
    claim = "Russia and Turkey, which back opposing sides in the conflict, agreed in 2018 to set up a de-escalation zone."
    assert failed(check_claim(claim, [2], seed)) == {}


def test_across_languages_only_citations_numbers_and_names(
    sources: dict[str, SourceSentences],
) -> None:
    seed = sources["en"]
    claim = "Türkiye ve Rusya 2018'de bir gerginliği azaltma bölgesi kurmayı kabul etti."
    checks = {
        c.name: c for c in check_claim(claim, [2], seed, claim_lang="tr", same_language=False)
    }
    assert checks["cited numbers"].status == "ok"
    assert checks["cited names"].status in {"ok", "unverified"}
    assert {checks[n].status for n in ("support", "negation", "roles")} == {"unverified"}
    claim = "Türkiye ve Rusya 2019'da Moskova'da anlaştı."
    problems = failed(check_claim(claim, [2], seed, claim_lang="tr", same_language=False))
    assert '"2019"' in problems["cited numbers"]


def test_an_english_word_inside_an_arabic_claim_fails(sources: dict[str, SourceSentences]) -> None:
    claim = "قال الوزير سامي الحداد إن المحطة ستوفر مياه الشرب لنحو 1.2 مليون refugees."
    assert '"refugees"' in failed(check_claim(claim, [2], sources["ar"]))["cited names"]


def test_headline_against_all_evidence(sources: dict[str, SourceSentences]) -> None:
    seed = sources["en"]
    assert (
        failed(check_headline("Turkey Says It Fulfilled Idlib Responsibilities", [[1], [9]], seed))
        == {}
    )
    problems = failed(check_headline("Turkey launches airstrikes on Aleppo", [[1], [9]], seed))
    assert problems["cited names"].startswith('headline: "Aleppo"')
    assert "support" in problems
    # Title Case hides names (every word is capitalised); the words still have to be there
    assert set(failed(check_headline("Turkey Launches Airstrikes On Aleppo", [[1]], seed))) == {
        "support"
    }


def test_citation_marks_in_the_claim_are_not_numbers(sources: dict[str, SourceSentences]) -> None:
    claim = "Turkey hosts more than 3.6 million Syrian refugees [9, 10]."
    assert failed(check_claim(claim, [9], sources["en"])) == {}


def test_cyrillic_names_are_checked() -> None:
    source = SourceSentences(
        [
            "В Северогорске открылась новая школа, сообщил мэр города Андрей Волков.",
            "Директор школы Елена Смирнова сказала, что набор уже закрыт.",
        ],
        "ru",
    )
    assert (
        failed(check_claim("Мэр города Андрей Волков сообщил об открытии школы.", [1], source))
        == {}
    )
    problems = failed(
        check_claim("Директор школы Елена Волкова сказала, что набор закрыт.", [2], source)
    )
    assert problems["cited names"].startswith('claim: "Волкова" is not in sentence [2]')


def test_an_added_clause_fails_on_its_own(sources: dict[str, SourceSentences]) -> None:
    claim = "Turkey hosts more than 3.6 million Syrian refugees, sending a large contingent of commandos."
    assert failed(check_claim(claim, [9], sources["en"]))["support"] == (
        'claim: "sending", "contingent", "commandos" are not in sentence [9] (see sentence [11]), '
        "only 57% of its words are"
    )


def test_a_negation_with_nothing_after_it(sources: dict[str, SourceSentences]) -> None:
    problems = failed(check_claim("Turkey said it would not.", [1], sources["en"]))
    assert problems["negation"] == 'claim: negation "not" is not in sentence [1]'


@pytest.mark.parametrize(
    ("lang", "source", "claim"),
    [
        # "sin embargo" (however) is no negation: it must not excuse the dropped "no".
        ("es", "Sin embargo, no todos están satisfechos.", "Sin embargo, todos están satisfechos."),
        # "n'" before "y a" has no scope of its own: it must not excuse an added "ne ... pas".
        (
            "fr",
            "Il n'y a pas de victimes, et les écoles restent ouvertes.",
            "Il n'y a pas de victimes, et les écoles ne restent pas ouvertes.",
        ),
    ],
)
def test_one_negation_never_excuses_another(lang: str, source: str, claim: str) -> None:
    checks = check_claim(claim, [1], SourceSentences([source], lang))
    assert {c.name: c.status for c in checks}["negation"] == "fail"
    faithful = check_claim(source, [1], SourceSentences([source], lang))
    assert {c.name: c.status for c in faithful}["negation"] == "ok"
