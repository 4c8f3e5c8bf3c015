"""Names: every proper name in an answer must stand in its source.

Without capitalisation (Arabic, Hebrew, CJK ...) native-script names cannot be found, so
they are "unverified"; only Latin-script tokens inside such texts are checked. German
capitalises every noun, so for German only acronyms are checked hard. Across languages a
name missing from the source is "unverified" when it may be a translation: it looks like a
source word (3-letter prefix, difflib ratio >= 0.6, consonant skeleton: Rusya/Russia,
Suriye/Syria), CLDR names it (Almanya -> Germany), it is a known organisation acronym (BM for
UN), or it stands next to a known name (Cumhurbaşkanı Yardımcısı Fuat Oktay). Anything else
fails, so a translation sharing nothing with the source ("Birleşmiş Milletler" alone) is
withheld; the re-ask then asks for names as the article writes them. Capitalised words at a
sentence start are not candidates unless capitalised mid-sentence too, so an invented name
opening a sentence goes unnoticed.
"""

from __future__ import annotations

import re

from digest.checks.base import CheckSpec, Subject
from digest.checks.source import SourceIndex, WordIndex
from digest.checks.text import WORD, fold, is_latin_text, quoted
from digest.models import Check

_OPENERS = " \t\"'“”‘’«»([—–-•*"


# Lowercase in English Title Case, so they do not count against it.
_TITLE_SMALL = {"with", "from", "into", "over", "onto", "upon", "than", "that", "amid"}


def _text_mode(text: str) -> str:
    """How a field is capitalised: "shout" (ALL CAPS), "title" (Title Case) or "normal"."""
    if sum(c.isupper() for c in text) > 0.6 * sum(c.isalpha() for c in text):
        return "shout"
    if text.rstrip().endswith((".", "!", "?", "。")):
        return "normal"  # a sentence, however many names it holds
    words = [w for w in WORD.findall(text)[1:] if len(w) >= 4 and w not in _TITLE_SMALL]
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
    for match in WORD.finditer(text):
        name = _name_part(match.group(0))
        if not name[0].isupper():
            runs.append([])
            continue
        if text[previous_end : match.start()].strip():
            runs.append([])
        run = runs[-1]
        run.append(name)
        previous_end = match.end()
        if name != match.group(0):
            runs.append([])  # a case suffix (Kupası'na) ends the name
        mid = mode == "normal" and _mid_sentence(text, match.start())
        if len(name) >= 2 and (name.isupper() or mid or name in capitalised_elsewhere):
            found.append((name, run))  # the run it ends, not the empty one after it
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
        for m in WORD.finditer(text)
    )
    return {name for name, mid in names if mid and name[0].isupper()}


def _entity_found(name: str, source: SourceIndex) -> bool:
    folded = fold(name)
    if source.has(folded) or (name.isupper() and folded in source.initials):
        return True
    parts = [p for p in folded.split("-") if len(p) >= 3]
    return bool(parts) and "-" in folded and all(source.has(p) for p in parts)


def _translated(name: str, run: list[str], source: SourceIndex, glossary: WordIndex) -> bool:
    """Could be a translation of something the source names (only asked across languages)."""
    folded = fold(name)
    if name.isupper() and any(folded in group for group in source.acronym_groups):
        return True  # BM for UN
    neighbours = [fold(o) for o in run if o != name]
    if not name.isupper() and any(source.has(o) or source.resembles_name(o) for o in neighbours):
        return True  # a translated title or institution next to a known name
    english = {e for word in glossary.matches(folded) for e in glossary.meanings[word]}
    if any(source.has(w) for e in english for w in WORD.findall(fold(e)) if len(w) >= 4):
        return True  # Almanya for Germany, via CLDR
    return source.resembles(folded)


def check_entities(subject: Subject) -> Check:
    texts, source, glossary = subject.texts, subject.source, subject.glossary
    lang, cross = subject.target, subject.same_language is not True
    joined = "\n".join(texts)
    if not is_latin_text(joined):
        latin = [w for w in WORD.findall(joined) if is_latin_text(w) and len(w) >= 2]
        missing = [w for w in dict.fromkeys(latin) if not _entity_found(_name_part(w), source)]
        if missing:
            return Check(
                name="entities", status="fail", detail=f"{quoted(missing)} not in the source"
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
        return Check(name="entities", status="fail", detail=f"{quoted(failed)} not in the source")
    if unsure:
        detail = f"{quoted(unsure)} not in the source as written (translated?)"
        return Check(name="entities", status="unverified", detail=detail)
    return Check(name="entities", status="ok")


ENTITIES = CheckSpec(
    name="entities",
    hint="name only people, places and organisations the article names, spelled as in it",
    run=check_entities,
)


# Public helpers for the claim and translation checks (digest.checks.claims, .translation):
# the same logic as check_entities, one name at a time.


def name_candidates(text: str, capitalised_elsewhere: set[str]) -> list[tuple[str, list[str]]]:
    """Proper-name candidates of ``text``, each with the run of capitalised words it stands
    in; sentence-start words count when ``capitalised_elsewhere`` holds them."""
    return _candidates(text, capitalised_elsewhere)


def mid_sentence_capitals(texts: list[str]) -> set[str]:
    """Words capitalised mid-sentence somewhere in ``texts`` (so: names, in most languages)."""
    return _mid_sentence_capitals(texts)


def name_part(word: str) -> str:
    """The name inside a word: Türkiye'nin -> Türkiye, d'Idlib -> Idlib."""
    return _name_part(word)


def entity_found(name: str, source: SourceIndex) -> bool:
    """``name`` stands in ``source`` (suffix-tolerant; an acronym may match initials)."""
    return _entity_found(name, source)


def maybe_translated(name: str, run: list[str], source: SourceIndex, glossary: WordIndex) -> bool:
    """``name`` could be a translation of something ``source`` names (cross-language only)."""
    return _translated(name, run, source, glossary)
