"""Quality gates every LLM answer passes before it is published.

Tiny local models invent facts (a "2018 FIFA World Cup" in an article about Idlib), answer
in the wrong language, copy the article or loop. ``Gate.check`` runs seven cheap, offline
checks on the texts of one parsed answer; each returns a ``Check`` whose status is ``ok``,
``fail`` or ``unverified`` (could not tell: passes). ``passed`` decides, ``feedback`` writes
the re-ask paragraph.

What the checks cannot tell (no second model; the only dictionary is CLDR via babel):

* numbers: scale words are known for en, de, fr, es, pt, it, nl, sv, pl, ro, tr, ru, uk, ar,
  fa, he, zh, ja, ko (see ``_SCALE_PREFIX`` / ``_SCALE_EXACT``), and only *after* the number.
  Numbers the source spells out are known in English only (zero..twenty, tens, "half",
  "dozen", month names); numbers the answer spells out ("dokuz", "nine") are not checked.
* entities: without capitalisation (Arabic, Hebrew, CJK ...) native-script names cannot be
  found, so they are "unverified"; only Latin-script tokens inside such texts are checked.
  German capitalises every noun, so for German only acronyms are checked hard. Across
  languages a name missing from the source is "unverified" when it may be a translation:
  it looks like a source word (3-letter prefix, difflib ratio >= 0.6, consonant skeleton:
  Rusya/Russia, Suriye/Syria), CLDR names it (Almanya -> Germany), it is a known
  organisation acronym (BM for UN), or it stands next to a known name (Cumhurbaşkanı
  Yardımcısı Fuat Oktay). Anything else fails, so a translation sharing nothing with the
  source ("Birleşmiş Milletler" alone) is withheld; the re-ask then asks for names as the
  article writes them. Capitalised words at a sentence start are not candidates unless
  capitalised mid-sentence too, so an invented name opening a sentence goes unnoticed.
* repetition: a word 3-gram three times within one field, or four times across fields.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel import Locale
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from digest.models import Check, CheckStatus, LanguageInfo

__all__ = ["Gate", "feedback", "passed"]

# A broad set of common languages: dropping dialect and minority classes (crh next to tr,
# ary/arz next to ar, lb next to de) stops them splitting the probability of the real one.
_COMMON_LANGUAGES = (
    "af am ar az be bg bn bs ca cs cy da de el en es et eu fa fi fr ga gl gu he hi hr hu hy "
    "id is it ja ka kk km ko ku lt lv mk ml mn mr ms mt ne nl no pa pl ps pt ro ru si sk sl "
    "so sq sr sv sw ta te th tl tr uk ur uz vi zh"
).split()
_LANG_ALIASES = {"iw": "he", "nb": "no", "nn": "no", "fil": "tl", "in": "id", "ji": "yi"}
_LANG_ALIASES |= {"ary": "ar", "arz": "ar", "wuu": "zh", "yue": "zh", "uzs": "uz", "ckb": "ku"}
# Pairs the identifier cannot reliably tell apart: a mismatch is "unverified", not "fail".
_CLOSE_LANGUAGES = [{"id", "ms"}, {"hr", "bs", "sr"}, {"no", "da"}, {"af", "nl"}]
_LANG_OK, _LANG_WRONG, _LANG_TARGET_FLOOR, _LANG_MIN_LETTERS = 0.5, 0.8, 0.1, 25

_COPY_FAIL, _COPY_NOTE = 0.5, 0.8
_MAX_HEADLINE, _MAX_SUMMARY, _MAX_POINT, _MAX_OVERVIEW = 20, 120, 60, 250

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*")
_TOKEN = re.compile(r"\w+")
_NO_SPACE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")
_FOLD_EXTRA = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe"})


def _fold(text: str) -> str:
    """Accent-folded, case-folded: Türkiye -> turkiye, İdlib -> idlib, ألف -> الف."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _lang_key(code: str | None) -> str | None:
    if not code:
        return None
    base = re.split(r"[-_]", code.strip().lower())[0]
    return _LANG_ALIASES.get(base, base) or None


def _lang_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name("en") or code
    except (ValueError, TypeError, LookupError):
        return code


def _shorten(item: str, limit: int = 40) -> str:
    item = " ".join(item.split())
    return item if len(item) <= limit else item[: limit - 1] + "…"


def _quoted(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(f'"{_shorten(i)}"' for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _item_name(index: int, count: int) -> str:
    if count == 1:
        return "overview"
    return ("headline", "summary")[index] if index < 2 else f"key point {index - 1}"


def _is_latin_text(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return not letters or latin * 2 >= len(letters)


# --- numbers -------------------------------------------------------------------------

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
    folded = _fold(word).strip(".")
    if folded in _SCALE_EXACT:
        return _SCALE_EXACT[folded]
    for stem, factors in _SCALE_PREFIX:
        if folded.startswith(stem):
            return factors
    return None


@dataclass(frozen=True)
class _Number:
    surface: str
    values: frozenset[Decimal]


def _numbers(text: str) -> list[_Number]:
    """Numbers in the text with their candidate values (a known scale word multiplies)."""
    found: list[_Number] = []
    for match in _NUMBER.finditer(text):
        factors = _scale(match.group("word"))
        surface = match.group(0) if factors else match.group("num")
        readings = _readings(match.group("num"))
        for i, values in enumerate(readings):
            if factors and i == len(readings) - 1:  # "2011 400 million": the scale is 400's
                values = [v * f for v in values for f in factors]
            found.append(_Number(surface, frozenset(values)))
    return found


def _source_number_values(text: str) -> set[Decimal]:
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
    words = set(_TOKEN.findall(text))
    values.update(Decimal(i) for i, month in enumerate(_MONTHS, 1) if month.title() in words)
    return values


# --- source index --------------------------------------------------------------------

_STOP_IN_NAMES = {"of", "the", "and", "for", "de", "du", "des", "la", "le", "der", "die", "das"}
_INTL_ACRONYMS = [  # the same organisation's acronym in a handful of languages
    {"un", "bm", "onu", "uno", "vn", "oon", "united nations"},
    {"eu", "ab", "ue", "european union"},
    {"us", "usa", "abd", "eua", "eeuu", "united states"},
    {"nato", "otan"},
    {"uk", "ik", "united kingdom"},
]


def _skeleton(word: str) -> str:
    """Rough consonant skeleton so transliterations meet: Suriye/Syria -> sr, Rusya/Russia -> rs."""
    word = word.replace("ph", "f").translate(str.maketrans("cqwzj", "kkvsy"))
    out = word[:1]
    for ch in word[1:]:
        if ch not in "aeiouy" and ch.isalpha() and (not out or out[-1] != ch):
            out += ch
    return out


class _WordIndex:
    """Folded words, matched with suffix tolerance: Idlibs, Türkiye'nin (already cut)."""

    def __init__(self, words: Iterable[str], meanings: dict[str, set[str]] | None = None) -> None:
        self.words = set(words)
        self.sorted = sorted(self.words)
        self.meanings = meanings or {}

    def matches(self, folded: str) -> list[str]:
        """Exact, or one is a prefix of the other with >= 4 shared characters."""
        if folded in self.words:
            return [folded]
        found = [folded[:k] for k in range(4, len(folded)) if folded[:k] in self.words]
        i = bisect_left(self.sorted, folded) if len(folded) >= 4 else len(self.sorted)
        while i < len(self.sorted) and self.sorted[i].startswith(folded):
            found.append(self.sorted[i])
            i += 1
        return found


def _glossary(locale_id: str) -> _WordIndex:
    """CLDR (babel) names of countries, languages, months and days in the target language,
    word by word, to their English names: "almanya" -> {"Germany"}, "suriye" -> {"Syria"}."""
    try:
        local, english = Locale.parse(locale_id), Locale.parse("en")
    except (ValueError, TypeError, LookupError):
        return _WordIndex([])
    pairs: list[tuple[Mapping[Any, str], Mapping[Any, str]]] = [
        (local.territories, english.territories),
        (local.languages, english.languages),
        (local.months["format"]["wide"], english.months["format"]["wide"]),
        (local.days["format"]["wide"], english.days["format"]["wide"]),
    ]
    glossary: dict[str, set[str]] = {}
    for names, english_names in pairs:
        for key, name in names.items():
            for word in _WORD.findall(_fold(name)):
                if len(word) >= 3 and key in english_names:
                    glossary.setdefault(word, set()).add(english_names[key])
    return _WordIndex(glossary, glossary)


class _Source:
    """What the checks look up in the article, built once per ``check`` call."""

    def __init__(self, text: str) -> None:
        self.numbers = _source_number_values(text)
        words: set[str] = set()
        for match in _WORD.finditer(text):
            folded = _fold(match.group(0))
            words.add(folded)
            words.update(p for p in re.split(r"['’\-]", folded) if p)
        self.index = _WordIndex(words)
        self.long_words = sorted(w for w in words if len(w) >= 3)
        self.names = {_fold(w) for w in _WORD.findall(text) if w[0].isupper() and len(w) >= 3}
        self.skeletons = {_skeleton(w) for w in self.long_words}
        self.initials = self._initials(text)
        folded_text = " " + " ".join(_TOKEN.findall(_fold(text))) + " "
        self.acronym_groups = [g for g in _INTL_ACRONYMS if any(f" {a} " in folded_text for a in g)]
        self.grams = {g for line in text.splitlines() for g in _grams(line)}

    @staticmethod
    def _initials(text: str) -> set[str]:
        """Initials of runs of capitalised words, so acronyms resolve: United Nations -> un."""
        runs: list[list[str]] = [[]]
        previous_end = 0
        for match in _WORD.finditer(text):
            word = match.group(0)
            adjacent = not text[previous_end : match.start()].strip()
            previous_end = match.end()
            if adjacent and runs[-1] and (word[0].isupper() or word in _STOP_IN_NAMES):
                if word[0].isupper():
                    runs[-1].append(word[0].lower())
            else:
                runs.append([word[0].lower()] if word[0].isupper() else [])
        return {
            "".join(run[i:j])
            for run in runs
            for i in range(len(run))
            for j in range(i + 2, len(run) + 1)
        }

    def has(self, folded: str) -> bool:
        return bool(self.index.matches(folded))

    def resembles(self, folded: str) -> bool:
        """Could be a translation or transliteration of some source word."""
        if len(folded) >= 3 and any(w.startswith(folded[:3]) for w in self.long_words):
            return True
        skeleton = _skeleton(folded)
        if len(skeleton) >= 2 and skeleton in self.skeletons:
            return True
        return bool(difflib.get_close_matches(folded, self.long_words, n=1, cutoff=0.6))

    def resembles_name(self, folded: str) -> bool:
        """Stricter: looks like one of the source's capitalised words (Münih ~ Munich)."""
        skeleton = _skeleton(folded)
        return any(
            name.startswith(folded[:3]) or (len(skeleton) >= 2 and _skeleton(name) == skeleton)
            for name in self.names
        ) or bool(difflib.get_close_matches(folded, self.names, n=1, cutoff=0.7))


def _grams(text: str, n: int = 4) -> list[tuple[str, ...]]:
    tokens = _TOKEN.findall(_fold(text))
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


# --- the seven checks ----------------------------------------------------------------


_MIN_WORDS = 3
_LINK = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net)/", re.IGNORECASE)


def _check_empty(texts: list[str]) -> Check:
    empty = [_item_name(i, len(texts)) for i, t in enumerate(texts) if not _TOKEN.search(t)]
    if not texts or empty:
        detail = f"{', '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty"
        return Check(name="empty", status="fail", detail=detail if texts else "no text at all")
    # Prose, not links: a tiny model's "summary" is sometimes just a search URL, which
    # every other check would let through (no numbers, no names, language unsure).
    linked = [_item_name(i, len(texts)) for i, t in enumerate(texts) if _LINK.search(t)]
    if linked:
        return Check(name="empty", status="fail", detail=f"{', '.join(linked)}: a link, not text")
    # A one- or two-word "key point" (tiny models echo field names: "summary", "key_points")
    # says nothing; a headline needs a few words too.
    stubs = [
        _item_name(i, len(texts))
        for i, t in enumerate(texts)
        if (i == 0 or i >= 2) and len(texts) > 1 and _word_count(t) < _MIN_WORDS
    ]
    if stubs:
        detail = f"{', '.join(stubs)}: fewer than {_MIN_WORDS} words"
        return Check(name="empty", status="fail", detail=detail)
    return Check(name="empty", status="ok")


def _check_numbers(texts: list[str], source: _Source) -> Check:
    missing = [n.surface for t in texts for n in _numbers(t) if not n.values & source.numbers]
    if missing:
        missing = list(dict.fromkeys(missing))
        verb = "is" if len(missing) == 1 else "are"
        return Check(
            name="numbers", status="fail", detail=f"{_quoted(missing)} {verb} not in the source"
        )
    return Check(name="numbers", status="ok")


_OPENERS = " \t\"'“”‘’«»([—–-•*"


# Lowercase in English Title Case, so they do not count against it.
_TITLE_SMALL = {"with", "from", "into", "over", "onto", "upon", "than", "that", "amid"}


def _text_mode(text: str) -> str:
    """How a field is capitalised: "shout" (ALL CAPS), "title" (Title Case) or "normal"."""
    if sum(c.isupper() for c in text) > 0.6 * sum(c.isalpha() for c in text):
        return "shout"
    if text.rstrip().endswith((".", "!", "?", "。")):
        return "normal"  # a sentence, however many names it holds
    words = [w for w in _WORD.findall(text)[1:] if len(w) >= 4 and w not in _TITLE_SMALL]
    capitalised = sum(w[0].isupper() for w in words)
    return "title" if len(words) >= 2 and capitalised >= 0.75 * len(words) else "normal"


def _mid_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(_OPENERS)
    return bool(before) and before[-1] not in ".!?:;…\n"


def _candidates(text: str, capitalised_elsewhere: set[str]) -> list[tuple[str, list[str]]]:
    """Proper-name candidates, each with the run of capitalised words it stands in:
    capitalised words not at a sentence start, acronyms, and sentence-start words that are
    capitalised mid-sentence somewhere too."""
    mode = _text_mode(text)
    if mode == "shout":
        return []  # every word would look like an acronym
    runs: list[list[str]] = [[]]
    found: list[tuple[str, list[str]]] = []
    previous_end = 0
    for match in _WORD.finditer(text):
        name = _name_part(match.group(0))
        if not name[0].isupper():
            runs.append([])
            continue
        if text[previous_end : match.start()].strip():
            runs.append([])
        runs[-1].append(name)
        previous_end = match.end()
        if name != match.group(0):
            runs.append([])  # a case suffix (Kupası'na) ends the name
        mid = mode == "normal" and _mid_sentence(text, match.start())
        if len(name) >= 2 and (name.isupper() or mid or name in capitalised_elsewhere):
            found.append((name, runs[-1]))
    return found


def _name_part(word: str) -> str:
    """Türkiye'nin -> Türkiye (suffix), d'Idlib -> Idlib (elision)."""
    parts = re.split(r"['’]", word)
    if len(parts) == 1:
        return word
    return parts[1] if parts[0].islower() else parts[0]


def _mid_sentence_capitals(texts: list[str]) -> set[str]:
    names = (
        (_name_part(m.group(0)), _mid_sentence(text, m.start()))
        for text in texts
        if _text_mode(text) == "normal"
        for m in _WORD.finditer(text)
    )
    return {name for name, mid in names if mid and name[0].isupper()}


def _entity_found(name: str, source: _Source) -> bool:
    folded = _fold(name)
    if source.has(folded) or (name.isupper() and folded in source.initials):
        return True
    parts = [p for p in folded.split("-") if len(p) >= 3]
    return bool(parts) and "-" in folded and all(source.has(p) for p in parts)


def _translated(name: str, run: list[str], source: _Source, glossary: _WordIndex) -> bool:
    """Could be a translation of something the source names (only asked across languages)."""
    folded = _fold(name)
    if name.isupper() and any(folded in group for group in source.acronym_groups):
        return True  # BM for UN
    neighbours = [_fold(o) for o in run if o != name]
    if not name.isupper() and any(source.has(o) or source.resembles_name(o) for o in neighbours):
        return True  # a translated title or institution next to a known name
    english = {e for word in glossary.matches(folded) for e in glossary.meanings[word]}
    if any(source.has(w) for e in english for w in _WORD.findall(_fold(e)) if len(w) >= 4):
        return True  # Almanya for Germany, via CLDR
    return source.resembles(folded)


def _check_entities(
    texts: list[str], source: _Source, lang: str, cross: bool, glossary: _WordIndex
) -> Check:
    joined = "\n".join(texts)
    if not _is_latin_text(joined):
        latin = [w for w in _WORD.findall(joined) if _is_latin_text(w) and len(w) >= 2]
        missing = [w for w in dict.fromkeys(latin) if not _entity_found(_name_part(w), source)]
        if missing:
            return Check(
                name="entities", status="fail", detail=f"{_quoted(missing)} not in the source"
            )
        return Check(
            name="entities",
            status="unverified",
            detail="names in a script without capitals are not verified",
        )
    elsewhere = _mid_sentence_capitals(texts)
    failed: list[str] = []
    unsure: list[str] = []
    for name, run in (c for t in texts for c in _candidates(t, elsewhere)):
        if name in failed or name in unsure or _entity_found(name, source):
            continue
        if cross and _translated(name, run, source, glossary):
            unsure.append(name)
        elif lang in {"de", "lb"} and not name.isupper():
            unsure.append(name)  # German capitalises every noun: cannot tell names apart
        else:
            failed.append(name)
    if failed:
        return Check(name="entities", status="fail", detail=f"{_quoted(failed)} not in the source")
    if unsure:
        detail = f"{_quoted(unsure)} not in the source as written (translated?)"
        return Check(name="entities", status="unverified", detail=detail)
    return Check(name="entities", status="ok")


def _check_copy(texts: list[str], source: _Source, same_lang: bool | None) -> Check:
    grams = [g for t in texts for g in _grams(t)]
    if not grams:
        return Check(name="copy", status="ok")
    share = sum(g in source.grams for g in grams) / len(grams)
    percent = f"{share:.0%} of 4-word sequences are copied from the source"
    if share >= _COPY_FAIL and same_lang is False:
        return Check(
            name="copy",
            status="fail",
            detail=f"copy of the source in the wrong language ({percent})",
        )
    if (share >= _COPY_FAIL and same_lang is None) or share >= _COPY_NOTE:
        return Check(name="copy", status="unverified", detail=f"mostly verbatim: {percent}")
    return Check(name="copy", status="ok")


def _tokens(text: str) -> list[str]:
    """Words, or single characters in scripts written without spaces (Chinese, Thai)."""
    tokens: list[str] = []
    for token in _TOKEN.findall(_fold(text)):
        tokens.extend(token if _NO_SPACE_SCRIPT.search(token) else [token])
    return tokens


def _check_repetition(texts: list[str]) -> Check:
    problems: list[str] = []
    run = re.search(r"(\S)\1{7,}", "\n".join(texts))
    if run:
        problems.append(f'character run "{_shorten(run.group(0), 12)}"')
    normalised = [" ".join(_tokens(t)) for t in texts]
    for i, text in enumerate(normalised):
        if text and text in normalised[:i]:
            first = normalised.index(text)
            problems.append(f"{_item_name(i, len(texts))} repeats {_item_name(first, len(texts))}")
    # A key point may restate a summary sentence (editors do); the same sentence twice in
    # one field, or in three places, is a loop.
    per_field = [
        Counter(
            " ".join(_tokens(s)) for s in re.split(r"[.!?。！？\n]+", t) if len(_tokens(s)) >= 4
        )
        for t in texts
    ]
    overall = sum(per_field, Counter[str]())
    repeated = [s for s, n in overall.items() if n >= 3 or any(f[s] > 1 for f in per_field)]
    problems.extend(f'sentence "{_shorten(s)}" repeated' for s in repeated[:2])
    # Within one field three times is a loop; across fields a name phrase may recur.
    for tokens_list, limit in [*((_tokens(t), 3) for t in texts), (_tokens(" ".join(texts)), 4)]:
        n = 8 if any(_NO_SPACE_SCRIPT.match(t) for t in tokens_list) else 3
        grams = Counter(tuple(tokens_list[i : i + n]) for i in range(len(tokens_list) - n + 1))
        looped = [g for g, count in grams.items() if count >= limit]
        if looped:
            problems.append(f'"{_shorten(" ".join(looped[0]))}" repeated {grams[looped[0]]} times')
    for tokens in map(_tokens, texts):
        if len(tokens) >= 40 and len(set(tokens)) < 0.3 * len(tokens):
            problems.append(f"only {len(set(tokens))} different words in {len(tokens)}")
    if problems:
        return Check(name="repetition", status="fail", detail="; ".join(dict.fromkeys(problems)))
    return Check(name="repetition", status="ok")


def _word_count(text: str) -> int:
    """Spaced words, plus one word per two characters of Chinese, Japanese or Thai."""
    no_space = len(_NO_SPACE_SCRIPT.findall(text))
    return len(_NO_SPACE_SCRIPT.sub(" ", text).split()) + (no_space + 1) // 2


def _check_length(texts: list[str]) -> Check:
    limits = [_MAX_OVERVIEW] if len(texts) == 1 else [_MAX_HEADLINE, _MAX_SUMMARY]
    too_long: list[str] = []
    for i, text in enumerate(texts):
        limit = limits[i] if i < len(limits) else _MAX_POINT
        words = _word_count(text)
        if words > limit:
            too_long.append(f"{_item_name(i, len(texts))} has {words} words (max {limit})")
    if too_long:
        return Check(name="length", status="fail", detail="; ".join(too_long))
    return Check(name="length", status="ok")


class Gate:
    """Built once per run: holds the language identifier (loading it takes ~0.6 s)."""

    def __init__(self, languages: list[LanguageInfo]) -> None:
        self._identifier: Any = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        # Requested languages stay recognisable even when outside the common set.
        wanted = {*_COMMON_LANGUAGES, *(i.base for i in languages)}
        wanted |= {_LANG_ALIASES.get(code, code) for code in wanted}
        self._identifier.set_languages(sorted(wanted & set(self._identifier.labels)))
        self._glossaries = {info.locale: _glossary(info.locale) for info in languages}

    def scores(self, text: str) -> dict[str, float]:
        """Probability per language, best first, aliases folded (ar + ary + arz -> ar)."""
        scores: dict[str, float] = {}
        for code, prob in self._identifier.rank(text):
            key = _lang_key(code) or code
            scores[key] = scores.get(key, 0.0) + float(prob)
        return dict(sorted(scores.items(), key=lambda item: -item[1]))

    def check(
        self, texts: list[str], *, source_text: str, source_lang: str | None, lang: LanguageInfo
    ) -> list[Check]:
        source = _Source(source_text)
        target = _lang_key(lang.base) or lang.base
        src_lang = _lang_key(source_lang)
        if src_lang is None:
            code, prob = next(iter(self.scores(source_text[:4000]).items()))
            src_lang = code if prob >= _LANG_WRONG else None
        same = None if src_lang is None else src_lang == target
        return [
            _check_empty(texts),
            self._check_language(texts, lang),
            _check_numbers(texts, source),
            _check_entities(
                texts,
                source,
                target,
                cross=same is not True,
                glossary=self._glossaries.get(lang.locale) or _glossary(lang.locale),
            ),
            _check_copy(texts, source, same),
            _check_repetition(texts),
            _check_length(texts),
        ]

    def _check_language(self, texts: list[str], lang: LanguageInfo) -> Check:
        joined = "\n".join(texts)
        target = _lang_key(lang.base) or lang.base
        wanted = f"{lang.english_name} ({target})"
        if sum(c.isalpha() for c in joined) < _LANG_MIN_LETTERS:
            return Check(name="language", status="unverified", detail="too short to identify")
        scores = self.scores(joined)
        top, prob = next(iter(scores.items()))
        found = f"{_lang_name(top)} ({top}, p={prob:.2f})"
        if top == target:
            status: CheckStatus = "ok" if prob >= _LANG_OK else "unverified"
            return Check(name="language", status=status, detail=f"identified as {found}")
        if target not in scores:
            return Check(name="language", status="unverified", detail=f"cannot identify {wanted}")
        close = any({top, target} <= group for group in _CLOSE_LANGUAGES)
        if prob >= _LANG_WRONG and scores[target] < _LANG_TARGET_FLOOR and not close:
            return Check(name="language", status="fail", detail=f"written in {found}, not {wanted}")
        return Check(
            name="language", status="unverified", detail=f"looks like {found}, expected {wanted}"
        )


_HINTS = {
    "empty": "fill every field with real sentences",
    "language": "write every field in the requested language",
    "numbers": "use only numbers that appear in the article",
    "entities": "name only people, places and organisations the article names, spelled as in it",
    "copy": "summarise in your own words in the requested language instead of copying the article",
    "repetition": "do not repeat words, phrases or sentences",
    "length": "keep the headline under 20 words and the summary under 120 words",
}


def passed(checks: list[Check]) -> bool:
    """Publishable when nothing failed ("unverified" passes)."""
    return not any(c.status == "fail" for c in checks)


def feedback(checks: list[Check]) -> str:
    """One paragraph for the re-ask: what failed and what to do instead."""
    failed = [c for c in checks if c.status == "fail"]
    if not failed:
        return ""
    problems = "; ".join(f"{c.name}: {c.detail} ({_HINTS.get(c.name, 'fix this')})" for c in failed)
    return (
        f"Your previous answer was rejected. Problems: {problems}. Answer again with these fixed."
    )
