"""Text features for event clustering: folded words, names, figures and anchor keys.

Pure functions; ``digest.ingest.clusters`` explains how they are used. Names are capitalised words
(not at a sentence start unless also seen inside one), cut at an apostrophe (Turkish
suffixes: ``Malatya'nın``), accent-folded and transliterated with ``anyascii`` and cut to
6 letters; for non-Latin scripts a consonant skeleton stands in (``ملاطية`` ~ ``Malatya``).
Figures are read with the language's separators (``8.000`` de = ``8,000`` en = ``8 bin`` tr).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from digest.models import Article

_FIGURE = re.compile(r"\d+(?:[.,:]\d+)*")
_WORD = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?")
_SENTENCE_END = set('.!?:;\n"„“”«»')
_MULTIPLIERS = {
    "thousand": 1e3, "tausend": 1e3, "bin": 1e3, "ألف": 1e3, "آلاف": 1e3,
    "million": 1e6, "millionen": 1e6, "mio": 1e6, "milyon": 1e6, "مليون": 1e6,
    "billion": 1e9, "milliarde": 1e9, "milliarden": 1e9, "mrd": 1e9, "milyar": 1e9, "مليار": 1e9,
}  # fmt: skip
# Languages writing 8.000 for eight thousand and 5,8 for five point eight.
_COMMA_DECIMAL = {"de", "tr", "fr", "es", "it", "pt", "nl", "pl", "ru", "id", "da", "sv", "no"}
_EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫٬", "01234567890123456789.,")
_LETTER = re.compile(r"[^\W\d_]")
_OTHER_SCRIPT = re.compile(r"[^\W\d_\u0000-\u024f]")
_APOSTROPHE = re.compile(r"['’]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_ARABIC_PREFIX = re.compile(r"^(?:[وفبلك]?ال|[وفب])(?=\w{3})")


def fold(word: str) -> str:
    """Accent-folded, transliterated, lower-case ASCII (İzmir, Izmir, IZMIR -> izmir)."""
    return _fold(word)


@lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    from anyascii import anyascii

    text = unicodedata.normalize("NFKC", word)
    return _NOT_ALNUM.sub("", anyascii(text).lower())


@lru_cache(maxsize=200_000)
def skeleton(key: str) -> str:
    """Consonants only, with look-alike sounds merged: what survives Arabic script."""
    key = key.translate(str.maketrans("pvcqx", "bfjkk")).replace("gh", "g")
    out = re.sub(r"[aeiouyhw0-9]", "", key)
    return re.sub(r"(.)\1+", r"\1", out)[:4]


def parse_figure(raw: str, lang: str | None) -> float | None:
    """``8.000`` (de, tr) = ``8,000`` (en) = 8000; ``5,8`` (de) = 5.8; ``4:12`` = 4.12."""
    raw = raw.translate(_EASTERN_DIGITS)
    if re.fullmatch(r"\d{1,2}:\d{2}", raw):
        hours, minutes = raw.split(":")
        return int(hours) + int(minutes) / 100
    if ":" in raw:
        return None
    thousands, decimal = (".", ",") if (lang or "") in _COMMA_DECIMAL else (",", ".")
    if "." in raw and "," in raw:
        decimal = "." if raw.rfind(".") > raw.rfind(",") else ","
        thousands = "," if decimal == "." else "."
    groups = raw.split(thousands)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3:
        raw = "".join(groups)
    elif thousands in raw:
        return None  # 1.2.3 or 12,34 where ',' groups thousands: not a figure we trust
    try:
        return float(raw.replace(decimal, "."))
    except ValueError:
        return None


def figure_key(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.4g}"


@dataclass(slots=True)
class Features:
    lang: str
    latin: bool
    words: list[str]
    names: list[str]
    skeletons: list[str]
    figures: list[tuple[float, int]]  # (value, token index)


def features(article: Article) -> Features:
    text = f"{article.title}\n{article.text}".translate(_EASTERN_DIGITS)
    lang = (article.source_lang or "und").lower()
    sample = text[:1500]
    latin = len(_OTHER_SCRIPT.findall(sample)) <= 0.4 * max(1, len(_LETTER.findall(sample)))
    words: list[str] = []
    names: list[str] = []
    skeletons: list[str] = []
    figures: list[tuple[float, int]] = []
    tokens = list(_WORD.finditer(text))
    initial: list[str] = []
    seen_inside: set[str] = set()
    skip = -1
    for n, match in enumerate(tokens):
        token = match.group(0)
        if n == skip:
            continue
        if token[0].isdigit():
            value = parse_figure(token, lang)
            if value is None:
                continue
            follower = tokens[n + 1].group(0).lower() if n + 1 < len(tokens) else ""
            if follower in _MULTIPLIERS:
                value *= _MULTIPLIERS[follower]
                after = tokens[n + 2].group(0) if n + 2 < len(tokens) else ""
                if follower in ("bin", "ألف") and after.isdigit() and int(after) < 1000:
                    value += int(after)  # Turkish 2 bin 300 = 2300
                    skip = n + 2
            figures.append((value, n))
            words.append("#" + figure_key(value))
            continue
        stem = _APOSTROPHE.split(token, maxsplit=1)[0]
        if not latin:
            stem = _ARABIC_PREFIX.sub("", stem)
        key = fold(stem)
        if len(key) < 2:
            continue
        words.append(key)
        if not latin:
            if len(key) >= 3:
                skeletons.append(skeleton(key))
            continue
        if stem[0].isupper() and len(key) >= 3:
            j = match.start() - 1
            while j >= 0 and text[j] in " \t":
                j -= 1
            if j < 0 or text[j] in _SENTENCE_END:
                initial.append(key)
            else:
                seen_inside.add(key)
                names.append(key[:6])
                skeletons.append(skeleton(key))
    for key in initial:  # a sentence-initial capital is a name only if also seen inside
        if key in seen_inside:
            names.append(key[:6])
            skeletons.append(skeleton(key))
    return Features(
        lang=lang, latin=latin, words=words, names=names, skeletons=skeletons, figures=figures
    )


def anchor_keys(feat: Features, *, script: bool) -> list[str]:
    """Names and figures that stand for the event in any language (figures under 10 that
    are whole numbers are too common to mean anything)."""
    figures = {"f:" + figure_key(v) for v, _ in feat.figures if v >= 10 or v != int(v)}
    if script:
        return sorted(figures | {"s:" + k for k in feat.skeletons if len(k) >= 3})
    return sorted(figures | {"n:" + k for k in feat.names})


def shared_anchors(feats: list[Features], *, script: bool) -> list[list[str]]:
    """Anchor keys found in at least two languages of the batch: a key only one language
    uses (German capitalises every noun) cannot link languages and would only dilute."""
    keys = [anchor_keys(f, script=script) for f in feats]
    langs: dict[str, set[str]] = {}
    for f, doc in zip(feats, keys, strict=True):
        for key in doc:
            langs.setdefault(key, set()).add(f.lang)
    return [[k for k in doc if len(langs[k]) > 1] for doc in keys]
