"""The quality gates, against the real seed article (English, Turkey/Idlib)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from digest.checks import Gate, feedback, passed
from digest.checks.numbers import number_values, numbers_in
from digest.languages import parse_language
from digest.models import AnswerField, Brief, Check, Summary

SOURCE = (Path(__file__).parent.parent / "seeds" / "000_e2a5421fd2ec2f6f.txt").read_text("utf-8")
LINES = SOURCE.splitlines()


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate([parse_language(code) for code in ("en", "tr", "de", "ar")])


def as_fields(texts: list[str]) -> list[AnswerField]:
    """A summary's texts in order (headline, summary, key points), or one overview."""
    if len(texts) == 1:
        return Brief.model_construct(overview=texts[0]).fields()
    head = [
        AnswerField(name="headline", kind="headline", text=texts[0]),
        AnswerField(name="summary", kind="summary", text=texts[1]),
    ]
    return head + [
        AnswerField(name=f"key point {i}", kind="key_point", text=text)
        for i, text in enumerate(texts[2:], 1)
    ]


def run(
    gate: Gate, lang: str, texts: list[str], source_lang: str | None = "en"
) -> dict[str, Check]:
    checks = gate.check(
        as_fields(texts), source_text=SOURCE, source_lang=source_lang, lang=parse_language(lang)
    )
    assert [c.name for c in checks] == [
        "empty",
        "language",
        "numbers",
        "entities",
        "copy",
        "repetition",
        "length",
    ]
    return {c.name: c for c in checks}


GOOD_EN_SUMMARY = Summary(
    headline="Turkey says it has met its Idlib obligations as Syrian offensive escalates",
    summary=(
        "Vice President Fuat Oktay said Turkey has fulfilled its responsibilities in Idlib under "
        "its de-escalation agreements with Russia and Iran. A Syrian regime offensive killed 13 "
        "Turkish soldiers in two weeks, and Turkey, which hosts more than 3.6 million Syrian "
        "refugees, fears a new wave of migrants."
    ),
    key_points=[
        "Turkey and Russia agreed in 2018 to set up a de-escalation zone in Idlib.",
        "Turkish forces hit 54 regime targets after 13 soldiers were killed.",
        "Around 800,000 people have fled their homes since early December, the UN says.",
    ],
)
GOOD_EN = [field.text for field in GOOD_EN_SUMMARY.fields()]

GOOD_TR = [
    "Türkiye, İdlib'deki sorumluluklarını yerine getirdiğini açıkladı",
    "Cumhurbaşkanı Yardımcısı Fuat Oktay, Türkiye'nin Rusya ve İran ile yaptığı gerginliği "
    "azaltma anlaşmaları çerçevesinde İdlib'deki sorumluluklarını yerine getirdiğini söyledi. "
    "Son iki haftada Suriye rejiminin saldırılarında 13 Türk askeri hayatını kaybetti. Türkiye, "
    "3,6 milyon Suriyeli mülteciye ev sahipliği yapıyor.",
    "Türkiye ve Rusya 2018'de bölgede bir gerginliği azaltma bölgesi kurmayı kabul etti.",
    "Türk ordusu 54 rejim hedefini vurdu; Alman mevkidaşı Heiko Maas ile görüşüldü.",
    "Aralık başından bu yana yaklaşık 800 bin kişi evlerini terk etmek zorunda kaldı.",
]

GOOD_DE = [
    "Türkei sieht ihre Pflichten in Idlib als erfüllt an",
    "Vizepräsident Fuat Oktay sagte, die Türkei habe ihre Verpflichtungen in Idlib im Einklang "
    "mit den Deeskalationsabkommen mit Russland und Iran erfüllt. Bei Angriffen des syrischen "
    "Regimes wurden in zwei Wochen 13 türkische Soldaten getötet. Die Türkei beherbergt mehr als "
    "3,6 Millionen syrische Flüchtlinge.",
    "Die Türkei und Russland vereinbarten 2018 eine Deeskalationszone in der Region.",
    "Das türkische Militär traf 54 Ziele des Regimes.",
    "Seit Anfang Dezember sind rund 800.000 Menschen geflohen.",
]

GOOD_AR = [
    "تركيا تؤكد أنها أوفت بمسؤولياتها في إدلب",
    "قال نائب الرئيس التركي فؤاد أوقطاي إن تركيا أوفت بمسؤولياتها في إدلب وفقا لاتفاقيات خفض "
    "التصعيد مع روسيا وإيران. وقتل ١٣ جنديا تركيا في هجمات سورية خلال أسبوعين. وتستضيف تركيا "
    "أكثر من ٣٫٦ مليون لاجئ سوري، بحسب ما قال لقناة NTV.",
    "اتفقت تركيا وروسيا في عام ٢٠١٨ على إنشاء منطقة لخفض التصعيد.",
    "ضرب الجيش التركي ٥٤ هدفا للنظام.",
    "نزح نحو ٨٠٠ ألف شخص منذ أوائل ديسمبر.",
]


GOOD_ZH = [
    "土耳其称已履行在伊德利卜的责任",
    "土耳其副总统奥克泰表示，土耳其收容了超过360万叙利亚难民，过去两周有13名土耳其士兵丧生。",
    "自12月初以来约80万人逃离家园。",
    "土耳其与俄罗斯在2018年同意建立冲突降级区。",
    "联合国表示局势严峻。",
]


def with_item(texts: list[str], index: int, text: str) -> list[str]:
    changed = list(texts)
    changed[index] = text
    return changed


@pytest.mark.parametrize(
    ("lang", "texts", "expected"),
    [
        ("en", GOOD_EN, {c: "ok" for c in ("empty", "language", "numbers", "entities", "copy")}),
        ("tr", GOOD_TR, {"language": "ok", "numbers": "ok", "entities": "unverified"}),
        ("de", GOOD_DE, {"language": "ok", "numbers": "ok", "copy": "ok"}),
        ("ar", GOOD_AR, {"language": "ok", "numbers": "ok", "entities": "unverified"}),
        ("zh-Hans", GOOD_ZH, {"language": "ok", "numbers": "ok", "entities": "unverified"}),
    ],
    ids=["english", "turkish", "german", "arabic", "chinese"],
)
def test_good_summaries_pass(
    gate: Gate, lang: str, texts: list[str], expected: dict[str, str]
) -> None:
    checks = run(gate, lang, texts)
    assert passed(list(checks.values())), checks
    assert {name: checks[name].status for name in expected} == expected
    assert feedback(list(checks.values())) == ""


@pytest.mark.parametrize(
    ("lang", "texts", "failing", "named"),
    [
        (
            "en",
            with_item(GOOD_EN, 2, "Turkey will host the 2018 FIFA World Cup in Idlib."),
            "entities",
            ['"FIFA"', '"World"', '"Cup"'],
        ),
        (
            "tr",
            with_item(
                GOOD_TR, 2, "Türkiye 2018 FIFA Dünya Kupası'na İdlib'de ev sahipliği yapacak."
            ),
            "entities",
            ['"FIFA"'],
        ),
        (
            "ar",
            with_item(GOOD_AR, 3, "ستستضيف تركيا كأس العالم FIFA في إدلب."),
            "entities",
            ['"FIFA"'],
        ),
        (
            "en",
            with_item(GOOD_EN, 3, "Turkey hosts 9,999,999 Syrian refugees."),
            "numbers",
            ['"9,999,999"'],
        ),
        (
            "en",
            with_item(
                GOOD_EN, 2, "Turkey and Russia agreed in 2019 to set up a de-escalation zone."
            ),
            "numbers",
            ['"2019"'],
        ),
        (
            "tr",
            with_item(GOOD_TR, 1, "Türkiye 3,6 milyar Suriyeli mülteciye ev sahipliği yapıyor."),
            "numbers",
            ['"3,6 milyar"'],
        ),
        ("tr", GOOD_EN, "language", ["English", "Turkish"]),
        ("tr", [LINES[0][:90], LINES[1], LINES[3], LINES[4], LINES[8]], "copy", ["wrong language"]),
        (
            "en",
            with_item(GOOD_EN, 1, "Turkey said that " * 5 + "Idlib is calm."),
            "repetition",
            ['"turkey said that" repeated 5 times'],
        ),
        (
            "en",
            with_item(GOOD_EN, 4, GOOD_EN[2]),
            "repetition",
            ["key point 3 repeats key point 1"],
        ),
        (
            "en",
            [GOOD_EN[0], GOOD_EN[1], *(f"Turkey said that {w} is calm." for w in "ABCD")],
            "repetition",
            ['"turkey said that" repeated 4 times'],
        ),
        ("en", with_item(GOOD_EN, 3, "Idlib!!!!!!!!!!"), "repetition", ["character run"]),
        ("en", with_item(GOOD_EN, 3, "   "), "empty", ["key point 2"]),
        ("en", with_item(GOOD_EN, 0, " ... "), "empty", ["headline"]),
        ("en", with_item(GOOD_EN, 0, "Turkey " * 21), "length", ["headline has 21 words"]),
        ("en", with_item(GOOD_EN, 1, "Turkey said so. " * 41), "length", ["summary has 123 words"]),
    ],
    ids=[
        "fifa-en",
        "fifa-tr",
        "fifa-latin-in-arabic",
        "invented-number",
        "wrong-year",
        "wrong-scale",
        "wrong-language",
        "copy-wrong-language",
        "looping-3gram",
        "duplicate-key-point",
        "looping-across-fields",
        "char-run",
        "empty-key-point",
        "punctuation-headline",
        "long-headline",
        "long-summary",
    ],
)
def test_bad_answers_fail(
    gate: Gate, lang: str, texts: list[str], failing: str, named: list[str]
) -> None:
    checks = run(gate, lang, texts)
    assert not passed(list(checks.values()))
    assert checks[failing].status == "fail"
    for item in named:
        assert item in checks[failing].detail
    assert f"{failing}:" in feedback(list(checks.values()))


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("3,6 milyon", {"3600000"}),
        ("3.6 million", {"3600000"}),
        ("3.600.000", {"3600000"}),
        ("3,600,000", {"3600000"}),
        ("3 600 000", {"3600000"}),
        ("3\u00a0600\u00a0000", {"3600000"}),
        ("3'600'000", {"3600000"}),
        ("3,6 Millionen", {"3600000"}),
        ("٣٫٦ مليون", {"3600000"}),
        ("۳.۶ میلیون", {"3600000"}),
        ("3,6 млн", {"3600000"}),
        ("360万", {"3600000"}),
        ("3,6 milhões", {"3600000"}),
        ("800 bin", {"800000"}),
        ("%50", {"50"}),
        ("50%", {"50"}),
        ("3,600", {"3600", "3.6"}),
        ("1.234,5", {"1234.5"}),
        ("2 Milliarden", {"2000000000"}),
        ("3.6m", {"3600000", "3.6"}),
    ],
)
def test_number_formats(text: str, values: set[str]) -> None:
    (number,) = numbers_in(text)
    assert number.values == {Decimal(v) for v in values}


def test_dates_split_into_their_parts() -> None:
    assert [set(n.values) for n in numbers_in("12.01.2020")] == [
        {Decimal(12)},
        {Decimal(1)},
        {Decimal(2020)},
    ]


def test_source_numbers_include_spelled_out_english() -> None:
    values = number_values(SOURCE)
    assert {Decimal(9), Decimal(2), Decimal(50), Decimal(12), Decimal(3600000)} <= values
    assert Decimal(2019) not in values


def test_number_written_as_a_word_in_the_source_passes(gate: Gate) -> None:
    texts = with_item(GOOD_EN, 3, "The nine-year war: 9 years of fighting.")
    assert run(gate, "en", texts)["numbers"].status == "ok"


def test_title_case_and_capitals_headlines_are_not_names(gate: Gate) -> None:
    for headline in ("Turkey Says It Will Hit Regime Forces In Idlib", "TURKEY WARNS SYRIA"):
        assert run(gate, "en", with_item(GOOD_EN, 0, headline))["entities"].status == "ok"


def test_acronym_of_a_source_name_is_found(gate: Gate) -> None:
    texts = with_item(GOOD_EN, 4, "Cavusoglu met Heiko Maas at the MSC, the UN says.")
    assert run(gate, "en", texts)["entities"].status == "ok"


def test_verbatim_copy_in_the_same_language_is_only_noted(gate: Gate) -> None:
    checks = run(gate, "en", [LINES[0][:90], LINES[1], LINES[3], LINES[4], LINES[8]])
    assert checks["copy"].status == "unverified"
    assert "verbatim" in checks["copy"].detail


def test_unknown_source_language_is_identified(gate: Gate) -> None:
    checks = run(gate, "tr", [LINES[0][:90], LINES[1], LINES[3], LINES[4]], source_lang=None)
    assert checks["copy"].status == "fail"


def test_short_text_language_is_unverified(gate: Gate) -> None:
    checks = run(gate, "tr", ["Türkiye ve Rusya."])
    assert checks["language"].status == "unverified"
    assert passed(list(checks.values()))


def test_brief_overview_has_its_own_length_limit(gate: Gate) -> None:
    overview = [Brief(overview=GOOD_EN[1]).overview]
    assert run(gate, "en", overview)["length"].status == "ok"
    long = run(gate, "en", [" ".join([GOOD_EN[1]] * 6)])
    assert long["length"].status == "fail"
    assert "overview" in long["length"].detail


def test_passed_and_feedback() -> None:
    checks = [
        Check(name="numbers", status="fail", detail='"2019" is not in the source'),
        Check(name="entities", status="unverified", detail='"Rusya" (translated?)'),
        Check(name="language", status="fail", detail="written in English, not Turkish (tr)"),
    ]
    assert not passed(checks)
    assert passed(checks[1:2])
    text = feedback(checks)
    assert '"2019"' in text and "English" in text
    assert "Rusya" not in text
    assert "\n" not in text


def test_translations_of_source_names_are_unverified_not_failed(gate: Gate) -> None:
    texts = with_item(
        GOOD_TR,
        3,
        "Almanya ve BM, Münih Güvenlik Konferansı'nda Dışişleri Bakanı Mevlüt Çavuşoğlu "
        "ile görüştü.",
    )
    entities = run(gate, "tr", texts)["entities"]
    assert entities.status == "unverified"
    assert "translated" in entities.detail  # unverified, so none of the names failed


def test_same_language_invented_name_next_to_a_real_one_fails(gate: Gate) -> None:
    texts = with_item(GOOD_EN, 3, "Turkish Defence Minister Hulusi Akar met Cristiano Ronaldo.")
    entities = run(gate, "en", texts)["entities"]
    assert entities.status == "fail"
    assert '"Cristiano", "Ronaldo"' in entities.detail
