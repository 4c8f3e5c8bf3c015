"""What the checks look up in a source text, built once per check: its numbers, its words
(suffix-tolerant), its capitalised names, consonant skeletons and initials (so translations,
transliterations and acronyms meet), and its 4-grams (for copies)."""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import Any

from babel import Locale

from digest.checks.numbers import number_values
from digest.checks.text import TOKEN, WORD, fold, grams

_STOP_IN_NAMES = {"of", "the", "and", "for", "de", "du", "des", "la", "le", "der", "die", "das"}
_INTL_ACRONYMS = [  # the same organisation's acronym in a handful of languages
    {"un", "bm", "onu", "uno", "vn", "oon", "united nations"},
    {"eu", "ab", "ue", "european union"},
    {"us", "usa", "abd", "eua", "eeuu", "united states"},
    {"nato", "otan"},
    {"uk", "ik", "united kingdom"},
]


def skeleton(word: str) -> str:
    """Rough consonant skeleton so transliterations meet: Suriye/Syria -> sr, Rusya/Russia -> rs."""
    word = word.replace("ph", "f").translate(str.maketrans("cqwzj", "kkvsy"))
    out = word[:1]
    for ch in word[1:]:
        if ch not in "aeiouy" and ch.isalpha() and (not out or out[-1] != ch):
            out += ch
    return out


class WordIndex:
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


def glossary_for(locale_id: str) -> WordIndex:
    """CLDR (babel) names of countries, languages, months and days in the target language,
    word by word, to their English names: "almanya" -> {"Germany"}, "suriye" -> {"Syria"}."""
    try:
        local, english = Locale.parse(locale_id), Locale.parse("en")
    except (ValueError, TypeError, LookupError):
        return WordIndex([])
    pairs: list[tuple[Mapping[Any, str], Mapping[Any, str]]] = [
        (local.territories, english.territories),
        (local.languages, english.languages),
        (local.months["format"]["wide"], english.months["format"]["wide"]),
        (local.days["format"]["wide"], english.days["format"]["wide"]),
    ]
    glossary: dict[str, set[str]] = {}
    for names, english_names in pairs:
        for key, name in names.items():
            for word in WORD.findall(fold(name)):
                if len(word) >= 3 and key in english_names:
                    glossary.setdefault(word, set()).add(english_names[key])
    return WordIndex(glossary, glossary)


class SourceIndex:
    """What the checks look up in the article, built once per ``check`` call."""

    def __init__(self, text: str) -> None:
        self.numbers = number_values(text)
        words: set[str] = set()
        for match in WORD.finditer(text):
            folded = fold(match.group(0))
            words.add(folded)
            words.update(p for p in re.split(r"['’\-]", folded) if p)
        self.index = WordIndex(words)
        self.long_words = sorted(w for w in words if len(w) >= 3)
        self.names = {fold(w) for w in WORD.findall(text) if w[0].isupper() and len(w) >= 3}
        self.skeletons = {skeleton(w) for w in self.long_words}
        self.initials = self._initials(text)
        folded_text = " " + " ".join(TOKEN.findall(fold(text))) + " "
        self.acronym_groups = [g for g in _INTL_ACRONYMS if any(f" {a} " in folded_text for a in g)]
        self.grams = {g for line in text.splitlines() for g in grams(line)}

    @staticmethod
    def _initials(text: str) -> set[str]:
        """Initials of runs of capitalised words, so acronyms resolve: United Nations -> un."""
        runs: list[list[str]] = [[]]
        previous_end = 0
        for match in WORD.finditer(text):
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
        shape = skeleton(folded)
        if len(shape) >= 2 and shape in self.skeletons:
            return True
        return bool(difflib.get_close_matches(folded, self.long_words, n=1, cutoff=0.6))

    def resembles_name(self, folded: str) -> bool:
        """Stricter: looks like one of the source's capitalised words (Münih ~ Munich)."""
        shape = skeleton(folded)
        return any(
            name.startswith(folded[:3]) or (len(shape) >= 2 and skeleton(name) == shape)
            for name in self.names
        ) or bool(difflib.get_close_matches(folded, self.names, n=1, cutoff=0.7))
