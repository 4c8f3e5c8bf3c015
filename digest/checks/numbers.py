"""Numbers: every number in a summary must stand in its source (or its cited sentences).

Locale formats are understood ("3,6 milyon" = "3.6 million" = "3,600,000"; Arabic-Indic
digits; thousands separators of many locales). Scale words are known for en, de, fr, es,
pt, it, nl, sv, pl, ro, tr, ru, uk, ar, fa, he, zh, ja, ko (``_SCALE_PREFIX`` /
``_SCALE_EXACT``), and only *after* the number. Numbers the source spells out are known in
English only (zero..twenty, tens, "half", "dozen", month names); numbers the answer spells
out ("dokuz", "nine") are not checked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from digest.checks.base import CheckSpec, Subject
from digest.checks.text import TOKEN, fold, quoted
from digest.models import Check

_THOUSANDS_SEPS = set(".,'’\u066c \u00a0\u202f\u2009")
_DECIMAL_SEPS = set(".,\u066b")
_NUMBER = re.compile(
    r"(?P<num>\d+(?:(?:[.,'’\u066b\u066c]|[ \u00a0\u202f\u2009](?=\d{3}(?!\d)))\d+)*)"
    r"(?:\s?%)?(?:[ \u00a0]?(?P<word>[^\W\d_]+))?"
)
_M, _K, _B = Decimal(10) ** 6, Decimal(1000), Decimal(10) ** 9
_SHORT_LONG_BILLION = (_B, _B * 1000)
# Stems of inflected scale words (folded), matched as word prefixes, longest first.
_SCALE_PREFIX: list[tuple[str, tuple[Decimal, ...]]] = [
    *[(s, (_K,)) for s in ("thousand", "tausend", "duizend", "tysiac", "tysiec", "тысяч")],
    *[(s, (_K,)) for s in ("千", "천")],
    *[(s, (_M,)) for s in ("million", "millon", "milhao", "milhoes", "milio", "miljoen")],
    *[(s, (_M,)) for s in ("miljon", "milyon", "миллион", "мільйон", "милион", "百万")],
    *[(s, (_B,)) for s in ("milliard", "miljard", "miliard", "milyar", "миллиард", "мільярд")],
    *[(s, _SHORT_LONG_BILLION) for s in ("billion", "bilhao", "bilhoes")],
    ("trillion", (_B * 1000, _B * _B)),
    ("billon", (_B * 1000,)),
    *[(s, (_K * 10,)) for s in ("万", "萬", "만")],
    *[(s, (_M * 100,)) for s in ("亿", "億", "억")],
]
_SCALE_PREFIX.sort(key=lambda pair: -len(pair[0]))
# Short scale words and abbreviations, matched whole; single letters may also be units
# ("500m"), so they keep the bare value as a candidate too.
_SCALE_EXACT: dict[str, tuple[Decimal, ...]] = {
    **dict.fromkeys(["bin", "binden", "bini", "bine", "mil", "mila", "mille", "tys", "тыс"], (_K,)),
    **dict.fromkeys(["الف", "الاف", "هزار", "אלף", "אלפים"], (_K,)),
    **dict.fromkeys(["mn", "mln", "mio", "млн", "مليون", "ملايين", "میلیون", "מיליון"], (_M,)),
    **dict.fromkeys(["bn", "bln", "mrd", "млрд", "مليار", "مليارات", "میلیارد"], (_B,)),
    "k": (_K, Decimal(1)),
    "m": (_M, Decimal(1)),
    "b": (_B, Decimal(1)),
    "lakh": (_K * 100,),
    "crore": (_M * 10,),
}
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUES: dict[str, tuple[Decimal, ...]] = {
    **{w: (Decimal(i),) for i, w in enumerate(_UNITS)},
    **{w: (Decimal(10 * i),) for i, w in enumerate(_TENS, 2)},
    "half": (Decimal("0.5"), Decimal(50)),
    "dozen": (Decimal(12),),
}
# Month names count as their numbers, so "12月" (December in Chinese) can match "December".
_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_NUMBER_WORD = re.compile(
    rf"\b(?P<tens>{'|'.join(_TENS)})-(?P<unit>{'|'.join(_UNITS[1:10])})\b"
    rf"|\b(?P<word>{'|'.join(_WORD_VALUES)})\b(?:[ -](?P<scale>[^\W\d_]+))?"
)


def _ascii_digits(token: str) -> str:
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in token)


def _grouped(groups: list[str], seps: list[str]) -> bool:
    """Thousands grouping: one separator character, 1-3 leading digits, then groups of 3."""
    return (
        all(s in _THOUSANDS_SEPS for s in seps)
        and len(set(seps)) <= 1
        and 1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
    )


def _readings(token: str) -> list[list[Decimal]]:
    """Every plausible value of one digit run: "3,600" -> 3600 or 3.6; "3.600.000" ->
    3600000; "1.234,5" -> 1234.5. Nothing coherent ("12.01.2020"): each run on its own."""
    parts = re.split(r"(\D)", _ascii_digits(token))
    groups, seps = parts[0::2], parts[1::2]
    if not seps:
        return [[Decimal(groups[0])]]
    values: list[Decimal] = []
    if _grouped(groups, seps):
        values.append(Decimal("".join(groups)))
    head, head_seps = groups[:-1], seps[:-1]
    if seps[-1] in _DECIMAL_SEPS and (
        not head_seps or (_grouped(head, head_seps) and head_seps[0] != seps[-1])
    ):
        values.append(Decimal("".join(head) + "." + groups[-1]))
    return [values] if values else [[Decimal(g)] for g in groups]


def _scale(word: str | None) -> tuple[Decimal, ...] | None:
    if not word:
        return None
    folded = fold(word).strip(".")
    if folded in _SCALE_EXACT:
        return _SCALE_EXACT[folded]
    for stem, factors in _SCALE_PREFIX:
        if folded.startswith(stem):
            return factors
    return None


@dataclass(frozen=True)
class Number:
    surface: str
    values: frozenset[Decimal]


def numbers_in(text: str) -> list[Number]:
    """Numbers in the text with their candidate values (a known scale word multiplies)."""
    found: list[Number] = []
    for match in _NUMBER.finditer(text):
        factors = _scale(match.group("word"))
        surface = match.group(0) if factors else match.group("num")
        readings = _readings(match.group("num"))
        for i, values in enumerate(readings):
            if factors and i == len(readings) - 1:  # "2011 400 million": the scale is 400's
                values = [v * f for v in values for f in factors]
            found.append(Number(surface, frozenset(values)))
    return found


def number_values(text: str) -> set[Decimal]:
    """Everything the source allows: each number bare and scaled, plus English words."""
    values: set[Decimal] = set()
    for match in _NUMBER.finditer(text):
        factors = _scale(match.group("word")) or ()
        for readings in _readings(match.group("num")):
            values.update(readings)
            values.update(v * f for v in readings for f in factors)
    for match in _NUMBER_WORD.finditer(text.lower()):
        if match.group("tens"):
            tens, unit = _WORD_VALUES[match.group("tens")][0], _WORD_VALUES[match.group("unit")][0]
            values.add(tens + unit)
            continue
        bare = _WORD_VALUES[match.group("word")]
        values.update(bare)
        values.update(v * f for v in bare for f in _scale(match.group("scale")) or ())
    words = set(TOKEN.findall(text))
    values.update(Decimal(i) for i, month in enumerate(_MONTHS, 1) if month.title() in words)
    return values


def missing_numbers(texts: list[str], allowed: set[Decimal]) -> list[str]:
    """Surfaces of the numbers in ``texts`` that no value in ``allowed`` explains."""
    missing = [n.surface for t in texts for n in numbers_in(t) if not n.values & allowed]
    return list(dict.fromkeys(missing))


def check_numbers(subject: Subject) -> Check:
    missing = missing_numbers([f.text for f in subject.fields], subject.source.numbers)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return Check(
            name="numbers", status="fail", detail=f"{quoted(missing)} {verb} not in the source"
        )
    return Check(name="numbers", status="ok")


NUMBERS = CheckSpec(
    name="numbers", hint="use only numbers that appear in the article", run=check_numbers
)
