"""Sentence segmentation: the numbered units claims cite (digest.ingest.sentences)."""

from __future__ import annotations

import pytest

from digest.ingest.sentences import number_sentences, split_sentences


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        (
            "en",
            'Turkey hosts more than 3.6 million Syrian refugees. Dr. Smith said "We will go." '
            "The U.S. Army arrived at 5 p.m. on Monday. Is it true? Yes!",
            [
                "Turkey hosts more than 3.6 million Syrian refugees.",
                'Dr. Smith said "We will go."',
                "The U.S. Army arrived at 5 p.m. on Monday.",
                "Is it true?",
                "Yes!",
            ],
        ),
        (
            "de",
            "Das ist z. B. ein Test. Dr. Müller wohnt in Haus Nr. 5 in Berlin. "
            "Die Inflation lag bei 3,6 Prozent. Der 2. Weltkrieg endete 1945. "
            "Die Zahl stieg auf 54. Das ist viel.",
            [
                "Das ist z. B. ein Test.",
                "Dr. Müller wohnt in Haus Nr. 5 in Berlin.",
                "Die Inflation lag bei 3,6 Prozent.",
                "Der 2. Weltkrieg endete 1945.",
                "Die Zahl stieg auf 54.",
                "Das ist viel.",
            ],
        ),
        (
            "tr",
            "Prof. Dr. Ayşe Yılmaz katılmadı. 3. Ordu hazır. Av. Mehmet Kaya konuştu. "
            "Yaklaşık 3,6 milyon Suriyeli var.",
            [
                "Prof. Dr. Ayşe Yılmaz katılmadı.",
                "3. Ordu hazır.",
                "Av. Mehmet Kaya konuştu.",
                "Yaklaşık 3,6 milyon Suriyeli var.",
            ],
        ),
        (
            "ar",
            "قال د. أحمد إن تركيا تستضيف 3.6 مليون لاجئ. هل هذا صحيح؟ "
            "وأضاف أن القوات ستنسحب۔ انتهى",
            [
                "قال د. أحمد إن تركيا تستضيف 3.6 مليون لاجئ.",
                "هل هذا صحيح؟",
                "وأضاف أن القوات ستنسحب۔",
                "انتهى",
            ],
        ),
        (
            "zh",
            "今天天气很好。你去哪儿？我去北京！他说：“好的。”然后离开了。",
            ["今天天气很好。", "你去哪儿？", "我去北京！", "他说：“好的。”", "然后离开了。"],
        ),
        ("ja", "今日は晴れです。どこへ行きますか？", ["今日は晴れです。", "どこへ行きますか？"]),
        (
            "fr",
            "M. Dupont est arrivé. J.-P. Sartre écrit. Il a dit : « Nous partirons. » Fin.",
            [
                "M. Dupont est arrivé.",
                "J.-P. Sartre écrit.",
                "Il a dit : « Nous partirons. »",
                "Fin.",
            ],
        ),
        (
            "es",
            "El Sr. García llegó. ¿Vendrá mañana? ¡Claro! La cifra es 3,6 millones.",
            ["El Sr. García llegó.", "¿Vendrá mañana?", "¡Claro!", "La cifra es 3,6 millones."],
        ),
    ],
)
def test_split_sentences(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_paragraph_breaks_end_sentences_and_hard_wraps_join() -> None:
    text = "A title without a stop\nThe body is hard\nwrapped here. A second one.\n\nNext paragraph"
    assert split_sentences(text, "en") == [
        "A title without a stop",
        "The body is hard wrapped here.",
        "A second one.",
        "Next paragraph",
    ]


def test_lowercase_continuation_and_unknown_language() -> None:
    # sentencex splits after "vb." (Turkish "etc."); a lowercase word continues the sentence
    assert split_sentences("Kitap, dergi vb. şeyler alındı. Bitti.", "tr") == [
        "Kitap, dergi vb. şeyler alındı.",
        "Bitti.",
    ]
    assert split_sentences("Dr. Watson came. He left.", None) == ["Dr. Watson came.", "He left."]
    assert split_sentences("", "en") == []
    assert split_sentences("  \n\n ", "de") == []


def test_deterministic() -> None:
    text = "One. Two? Three! " * 50
    assert split_sentences(text, "en") == split_sentences(text, "en")
    assert len(split_sentences(text, "en")) == 150


def test_number_sentences() -> None:
    assert number_sentences(["First.", "Second."]) == "[1] First.\n[2] Second."
    assert number_sentences([]) == ""
