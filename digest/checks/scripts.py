"""Writing systems: which script a word is in, what script a language expects, and whether
two forms of a name in different scripts can be the same name (transliteration).

Transliteration goes through anyascii (ISC; unidecode is GPL): both forms become ASCII,
then a consonant skeleton (vowels out except as separators, digraphs folded: gh -> g,
Arabic "'rdwghn" ~ "Erdogan" -> rdgn), compared with rapidfuzz (MIT). Scripts that write no
short vowels (Arabic, Hebrew) make skeletons short, so the bar is a similarity of 0.75 or one
skeleton starting the other.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import Indel

# The script of a language's ordinary text (by the first word of Unicode character names).
_SCRIPTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(["ar", "fa", "ur", "ps", "ku", "sd", "ug"], frozenset({"ARABIC"})),
    **dict.fromkeys(["he", "yi"], frozenset({"HEBREW"})),
    **dict.fromkeys(
        ["ru", "uk", "bg", "be", "mk", "kk", "ky", "mn", "tg"], frozenset({"CYRILLIC"})
    ),
    "sr": frozenset({"CYRILLIC", "LATIN"}),
    "el": frozenset({"GREEK"}),
    "zh": frozenset({"CJK"}),
    "ja": frozenset({"CJK", "HIRAGANA", "KATAKANA"}),
    "ko": frozenset({"HANGUL", "CJK"}),
    **dict.fromkeys(["hi", "mr", "ne"], frozenset({"DEVANAGARI"})),
    "bn": frozenset({"BENGALI"}),
    "th": frozenset({"THAI"}),
    "ka": frozenset({"GEORGIAN"}),
    "hy": frozenset({"ARMENIAN"}),
    "am": frozenset({"ETHIOPIC"}),
    "ta": frozenset({"TAMIL"}),
    "te": frozenset({"TELUGU"}),
    "gu": frozenset({"GUJARATI"}),
    "pa": frozenset({"GURMUKHI"}),
    "km": frozenset({"KHMER"}),
    "si": frozenset({"SINHALA"}),
    "ml": frozenset({"MALAYALAM"}),
}
# Folded so that spellings across scripts meet: Arabic has no p, v or short vowels; voicing
# pairs (t/d) blur between transliterations. "c" and "ch" are read both ways (Moscow, Recep;
# Sochi, Munich), and a pair matches when any reading does.
_DIGRAPHS = (("gh", "g"), ("kh", "k"), ("sh", "s"), ("th", "t"), ("dh", "d"))
_READINGS = ((("ch", "ts"), ("c", "k")), (("ch", "k"), ("c", "j")))
_FOLD = str.maketrans("wyqzpvd", "uiksbut")
_SIMILAR = 0.75
# Scripts with capital letters, so that names can be told by them.
CASED_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN"})


def char_script(ch: str) -> str:
    """LATIN, ARABIC, CYRILLIC, CJK, ... ('' for what is not a letter)."""
    if not ch.isalpha():
        return ""
    name = unicodedata.name(ch, "")
    head = name.split(" ", 1)[0]
    return "CJK" if head in {"CJK", "IDEOGRAPHIC"} else head


def word_script(word: str) -> str:
    """The script most of the word's letters are in."""
    counts: dict[str, int] = {}
    for ch in word:
        script = char_script(ch)
        if script:
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else ""


def text_script(text: str) -> str:
    """The script most of the text's letters are in ('' without letters)."""
    return word_script(text)


def expected_scripts(lang: str | None) -> frozenset[str]:
    base = re.split(r"[-_]", (lang or "").lower())[0]
    return _SCRIPTS.get(base, frozenset({"LATIN"}))


@lru_cache(maxsize=4096)
def skeletons(name: str) -> frozenset[str]:
    """Transliterated consonant skeletons: Erdoğan, أردوغان, Эрдоган -> {rtgn}."""
    ascii_form = re.sub(r"[^a-z]", "", anyascii(name).lower())
    for digraph, single in _DIGRAPHS:
        ascii_form = ascii_form.replace(digraph, single)
    found: set[str] = set()
    for reading in _READINGS:
        form = ascii_form
        for old, new in reading:
            form = form.replace(old, new)
        out = ""
        for ch in form.translate(_FOLD):
            if ch in "aeiou" or (out and out[-1] == ch):
                continue
            out += ch
        found.add(out)
    return frozenset(found)


def _similar(a: str, b: str) -> bool:
    return any(_skeletons_similar(x, y) for x in skeletons(a) for y in skeletons(b))


def _skeletons_similar(left: str, right: str) -> bool:
    if not left or not right:
        return False
    short, long = sorted((left, right), key=len)
    if long.startswith(short) and len(short) >= 2 and len(short) * 3 >= len(long) * 2:
        return True  # Syrian ~ سوري (srn ~ sr), not Serbian ~ سوري (srbn ~ sr)
    return Indel.normalized_similarity(left, right) >= _SIMILAR


def transliterates(a: str, b: str) -> bool:
    """Could ``a`` and ``b`` (any scripts) be the same name? Word by word when both have as
    many words, else as a whole."""
    words_a, words_b = a.split(), b.split()
    if len(words_a) == len(words_b) > 1:
        return all(_similar(x, y) for x, y in zip(words_a, words_b, strict=True))
    return _similar(a, b)
