"""Translation checks: a verified pivot summary against its translation (digest.checks.translation)."""

# ruff: noqa: E501  (the cases are whole sentences, easier to read unbroken)

from __future__ import annotations

from pathlib import Path

import pytest

from digest.checks.scripts import transliterates
from digest.checks.translation import (
    TRANSLATION_CHECKS,
    TRANSLATION_HINTS,
    PivotField,
    check_name_consistency,
    check_translation,
    length_bounds,
)
from digest.langid import LanguageIdentifier, identifier
from digest.models import Check

SOURCE = (Path(__file__).resolve().parent.parent / "seeds" / "000_e2a5421fd2ec2f6f.txt").read_text(
    "utf-8"
)
NAMES = ["headline", "summary sentence 1", "key point 1", "key point 2", "key point 3"]
EVIDENCE = [[1, 3], [1], [3], [9], [6]]


def fields(*texts: str) -> list[PivotField]:
    return [
        PivotField(name=n, text=t, evidence=e)
        for n, t, e in zip(NAMES, texts, EVIDENCE, strict=True)
    ]


PIVOT = fields(
    "Turkey says it has met its Idlib commitments as Syrian attacks kill 13 soldiers",
    "Vice President Fuat Oktay said Turkey has fulfilled its responsibilities in Idlib under its agreements with Russia and Iran.",
    "13 Turkish soldiers were killed by Syrian attacks in the past two weeks.",
    "Turkey hosts more than 3.6 million Syrian refugees and cannot handle a new migrant wave.",
    "Erdogan said Turkey will hit regime forces everywhere if its soldiers are harmed.",
)
GOOD: dict[str, tuple[list[PivotField], dict[str, str]]] = {
    "de": (
        fields(
            "Türkei sieht ihre Verpflichtungen in Idlib erfüllt, während syrische Angriffe 13 Soldaten töten",
            "Vizepräsident Fuat Oktay sagte, die Türkei habe ihre Verantwortung in Idlib im Rahmen ihrer Vereinbarungen mit Russland und dem Iran erfüllt.",
            "13 türkische Soldaten wurden in den vergangenen zwei Wochen durch syrische Angriffe getötet.",
            "Die Türkei beherbergt mehr als 3,6 Millionen syrische Flüchtlinge und kann keine neue Migrationswelle bewältigen.",
            "Erdogan sagte, die Türkei werde die Regimekräfte überall angreifen, falls ihre Soldaten zu Schaden kommen.",
        ),
        {"Turkey": "Türkei", "Syrian": "syrische", "Russia": "Russland", "Iran": "Iran",
         "Fuat Oktay": "Fuat Oktay", "Erdogan": "Erdogan", "Idlib": "Idlib",
         "Turkish": "türkische", "Vice President": "Vizepräsident"},
    ),
    "tr": (
        fields(
            "Türkiye, Suriye saldırılarında 13 askerin ölmesinin ardından İdlib taahhütlerini yerine getirdiğini söyledi",
            "Cumhurbaşkanı Yardımcısı Fuat Oktay, Türkiye'nin Rusya ve İran ile yaptığı anlaşmalar çerçevesinde İdlib'deki sorumluluklarını yerine getirdiğini söyledi.",
            "Son iki haftada Suriyeli saldırılarda 13 Türk askeri hayatını kaybetti.",
            "Türkiye 3,6 milyondan fazla Suriyeli mülteciye ev sahipliği yapıyor ve yeni bir göç dalgasını kaldıramaz.",
            "Erdoğan, askerlerine zarar gelirse Türkiye'nin rejim güçlerini her yerde vuracağını söyledi.",
        ),
        {"Turkey": "Türkiye", "Syrian": "Suriyeli", "Russia": "Rusya", "Iran": "İran",
         "Idlib": "İdlib", "Erdogan": "Erdoğan", "Turkish": "Türk", "Fuat Oktay": "Fuat Oktay",
         "Vice President": "Cumhurbaşkanı Yardımcısı"},
    ),
    "ar": (
        fields(
            "تركيا تقول إنها أوفت بالتزاماتها في إدلب بعد مقتل 13 جنديا في هجمات سورية",
            "قال نائب الرئيس فؤاد أوقطاي إن تركيا أوفت بمسؤولياتها في إدلب بموجب اتفاقاتها مع روسيا وإيران.",
            "قتل 13 جنديا تركيا في هجمات سورية خلال الأسبوعين الماضيين.",
            "تستضيف تركيا أكثر من 3.6 مليون لاجئ سوري ولا تستطيع تحمل موجة هجرة جديدة.",
            "قال أردوغان إن تركيا ستضرب قوات النظام في كل مكان إذا تعرض جنودها للأذى.",
        ),
        {"Turkey": "تركيا", "Syrian": "سورية", "Russia": "روسيا", "Iran": "إيران",
         "Idlib": "إدلب", "Erdogan": "أردوغان", "Fuat Oktay": "فؤاد أوقطاي", "Turkish": "تركيا"},
    ),
    "fr": (
        fields(
            "La Turquie dit avoir rempli ses engagements à Idlib alors que des attaques syriennes tuent 13 soldats",
            "Le vice-président Fuat Oktay a déclaré que la Turquie avait rempli ses responsabilités à Idlib dans le cadre de ses accords avec la Russie et l'Iran.",
            "13 soldats turcs ont été tués par des attaques syriennes au cours des deux dernières semaines.",
            "La Turquie accueille plus de 3,6 millions de réfugiés syriens et ne peut pas faire face à une nouvelle vague migratoire.",
            "Erdogan a déclaré que la Turquie frapperait les forces du régime partout si ses soldats subissaient des dommages.",
        ),
        {"Turkey": "Turquie", "Syrian": "syrien", "Turkish": "turc", "Russia": "Russie",
         "Iran": "Iran", "Idlib": "Idlib", "Fuat Oktay": "Fuat Oktay", "Erdogan": "Erdogan"},
    ),
    "es": (
        fields(
            "Turquía afirma haber cumplido sus compromisos en Idlib mientras ataques sirios matan a 13 soldados",
            "El vicepresidente Fuat Oktay dijo que Turquía ha cumplido sus responsabilidades en Idlib conforme a sus acuerdos con Rusia e Irán.",
            "13 soldados turcos murieron en ataques sirios en las últimas dos semanas.",
            "Turquía acoge a más de 3,6 millones de refugiados sirios y no puede asumir una nueva ola migratoria.",
            "Erdogan dijo que Turquía atacará a las fuerzas del régimen en todas partes si sus soldados sufren daños.",
        ),
        {"Turkey": "Turquía", "Syrian": "sirio", "Turkish": "turco", "Russia": "Rusia",
         "Iran": "Irán", "Idlib": "Idlib", "Fuat Oktay": "Fuat Oktay", "Erdogan": "Erdogan"},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def ident() -> LanguageIdentifier:
    return identifier(frozenset({"de", "tr", "ar", "fr", "es"}))


def run(
    translated: list[PivotField], names: dict[str, str], lang: str, ident: LanguageIdentifier
) -> dict[str, str]:
    checks = check_translation(
        PIVOT, translated, names, pivot_lang="en", target_lang=lang, identifier=ident,
        source_text=SOURCE,
    )  # fmt: skip
    assert [c.name for c in checks] == [c.name for c in TRANSLATION_CHECKS[:-1]]
    return {c.name: c.detail for c in checks if c.status == "fail"}


def replaced(lang: str, old: str, new: str) -> list[PivotField]:
    translated, _ = GOOD[lang]
    assert any(old in f.text for f in translated)
    return [f.model_copy(update={"text": f.text.replace(old, new)}) for f in translated]


@pytest.mark.parametrize("lang", sorted(GOOD))
def test_faithful_translations_pass(lang: str, ident: LanguageIdentifier) -> None:
    translated, names = GOOD[lang]
    assert run(translated, names, lang, ident) == {}


def test_hints_are_declared_once() -> None:
    assert set(TRANSLATION_HINTS) == {c.name for c in TRANSLATION_CHECKS}
    assert len(TRANSLATION_CHECKS) == len(TRANSLATION_HINTS)


def test_refugees_turned_soldiers(ident: LanguageIdentifier) -> None:
    for lang, old, new in [
        ("de", "syrische Flüchtlinge", "syrische Soldaten"),
        ("fr", "réfugiés syriens", "soldats syriens"),
        ("es", "refugiados sirios", "soldados sirios"),
    ]:
        problems = run(replaced(lang, old, new), GOOD[lang][1], lang, ident)
        assert problems["translation words"].startswith("key point 2: "), lang
        assert "which its original lacks" in problems["translation words"]


def test_syrian_turned_serbian(ident: LanguageIdentifier) -> None:
    names = GOOD["de"][1]
    problems = run(replaced("de", "durch syrische", "durch serbische"), names, "de", ident)
    assert (
        problems["translation names"] == 'key point 1: "Syrian" is not rendered (declare its form)'
    )
    turkish = replaced("tr", "Son iki haftada Suriyeli", "Son iki haftada Sırp")
    assert "Syrian" in run(turkish, GOOD["tr"][1], "tr", ident)["translation names"]
    declared = {**GOOD["tr"][1], "Syrian": "Sırp"}
    assert '"Sırp" names "Serbian"' in run(turkish, declared, "tr", ident)["translation names"]
    arabic = replaced("ar", "لاجئ سوري", "لاجئ صربي")
    declared = {**GOOD["ar"][1], "Syrian": "صربي"}
    assert '"صربي"' in run(arabic, declared, "ar", ident)["translation names"]


def test_english_word_inside_arabic(ident: LanguageIdentifier) -> None:
    problems = run(replaced("ar", "لاجئ سوري", "refugees سوري"), GOOD["ar"][1], "ar", ident)
    assert problems == {"translation language": 'key point 2: "refugees" is in Latin script'}
    # a name the pivot has may stay in Latin script
    kept = replaced("ar", "قال أردوغان", "قال Erdogan")
    assert "translation language" not in run(kept, GOOD["ar"][1], "ar", ident)


def test_untranslated_sentence_and_stop_words(ident: LanguageIdentifier) -> None:
    left = replaced("de", "Die Türkei beherbergt mehr als", "Turkey hosts more than")
    problems = run(left, GOOD["de"][1], "de", ident)
    assert '"than" is left in English' in problems["translation language"]


def test_numbers_same_as_the_pivot(ident: LanguageIdentifier) -> None:
    problems = run(replaced("de", "3,6 Millionen", "4,6 Millionen"), GOOD["de"][1], "de", ident)
    assert problems["translation numbers"] == (
        'key point 2: "4,6 Millionen" not in the original; '
        'key point 2: the original\'s "3.6 million" missing'
    )
    assert "translation numbers" not in run(
        replaced("ar", "3.6 مليون", "٣٫٦ مليون"), GOOD["ar"][1], "ar", ident
    )


def test_names_declared_and_used(ident: LanguageIdentifier) -> None:
    translated, names = GOOD["ar"]
    problems = run(translated, {**names, "Erdogan": "أوقطاي"}, "ar", ident)
    assert '"أوقطاي" is not a transliteration of "Erdogan"' in problems["translation names"]
    problems = run(translated, {**names, "Moscow": "موسكو"}, "ar", ident)
    assert (
        '"موسكو" (declared for "Moscow") is not in the translation' in problems["translation names"]
    )
    # a name nobody declared or wrote in the pivot
    invented = replaced("fr", "Le vice-président Fuat Oktay", "Le vice-président Hakan Fidan")
    problems = run(invented, GOOD["fr"][1], "fr", ident)["translation names"]
    assert '"Hakan" is not a name of the original' in problems
    assert '"Fuat Oktay" (declared for "Fuat Oktay") is not in the translation' in problems
    # German: nouns are capitalised, so only acronyms count as names there
    acronym = replaced("de", "mit Russland und dem Iran", "mit Russland, der NATO und dem Iran")
    assert run(acronym, GOOD["de"][1], "de", ident)["translation names"] == (
        'summary sentence 1: "NATO" is not a name of the original'
    )


def test_fields_and_citations_kept(ident: LanguageIdentifier) -> None:
    translated, names = GOOD["es"]
    dropped = translated[:-1]
    assert run(dropped, names, "es", ident)["translation fields"] == (
        "2 key points for the original's 3; key point 3 is missing"
    )
    moved = [*translated[:-1], translated[-1].model_copy(update={"evidence": [7]})]
    assert run(moved, names, "es", ident)["translation fields"] == (
        "key point 3 cites [7], the original [6]"
    )


def test_length_bounds(ident: LanguageIdentifier) -> None:
    low, high = length_bounds("en", "de")
    assert low < 1.2 < high
    assert length_bounds("en", "zh")[1] < 1
    translated, names = GOOD["de"]
    cut = [f.model_copy(update={"text": f.text[: len(f.text) // 3]}) for f in translated]
    assert "translation length" in run(cut, names, "de", ident)


def test_transliteration() -> None:
    assert transliterates("Erdogan", "أردوغان")
    assert transliterates("Recep Tayyip Erdogan", "رجب طيب أردوغان")
    assert transliterates("Moscow", "موسكو")
    assert transliterates("Erdogan", "Эрдоган")
    assert not transliterates("Syrian", "صربي")
    assert not transliterates("Turkey", "روسيا")


def test_name_consistency() -> None:
    assert check_name_consistency([{"Turkey": "Türkei"}, {"Turkey": "Türkei"}]) == [
        Check(name="name consistency", status="ok")
    ]
    [check] = check_name_consistency([{"Turkey": "Türkei"}, {"Turkey": "Türkiye"}, {}])
    assert check.status == "fail"
    assert check.detail == '"Turkey" is "Türkei" in stories [1] and "Türkiye" in stories [2]'


def test_a_name_kept_as_written_is_never_another_name() -> None:
    # "Island" is German for Iceland: a kept English place name must not read as a country.
    from digest.checks.translation import _pair

    assert _pair("Tessel Island", "Tessel Island", "en", "de") is None
    assert _pair("Syrian", "Sırp", "en", "tr") is not None  # a rendered form still is checked


def test_a_cognate_of_the_fields_own_word_is_its_translation_not_a_drift() -> None:
    # "Hospital" (de) translates the headline's "hôpital"; "hospitalier" elsewhere in the
    # article does not make it a word that drifted in (seen with a 1.5B model's German).
    from digest.checks.translation import _drift

    headline = PivotField(name="headline", text="L'hôpital de Valmont ferme ses urgences la nuit")
    rest = PivotField(name="summary sentence 1", text="Le centre hospitalier ferme.", evidence=[1])
    sources = ["Le centre hospitalier ferme.", "Le personnel hospitalier proteste."]
    translated = PivotField(name="headline", text="Hospital in Valmont schließt nachts")
    assert _drift(translated, headline, [headline, rest], sources, "de", "fr") == []


def test_a_german_pivots_common_nouns_are_translated_not_rendered_as_names(
    ident: LanguageIdentifier,
) -> None:
    # "Nahverkehr" is capitalised because German capitalises nouns ("der Nahverkehr").
    pivot = [
        PivotField(name="headline", text="Warnstreik legt Nahverkehr in Hessenfeld lahm"),
        PivotField(
            name="summary sentence 1",
            text="Der Nahverkehr in Hessenfeld steht still, sagte Markus Brandt.",
            evidence=[1],
        ),
    ]
    translated = [
        PivotField(name="headline", text="Warning strike paralyses public transport in Hessenfeld"),
        PivotField(
            name="summary sentence 1",
            text="Public transport in Hessenfeld is at a standstill, Markus Brandt said.",
            evidence=[1],
        ),
    ]
    names = {"Hessenfeld": "Hessenfeld", "Markus Brandt": "Markus Brandt"}
    checks = check_translation(
        pivot, translated, names, pivot_lang="de", target_lang="en", identifier=ident,
        source_text="Der Nahverkehr in Hessenfeld steht still, sagte Markus Brandt.",
    )  # fmt: skip
    assert {c.name: c.status for c in checks}["translation names"] == "ok"
