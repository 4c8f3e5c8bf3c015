"""Sentence segmentation: the numbered units a summary's claims cite as evidence.

``sentencex`` (Wikimedia, MIT, a compiled wheel with its abbreviation lists inside: no
download, deterministic) does the segmenting; it knows ~300 languages' terminators (Arabic
؟ and ۔, Devanagari ।, CJK 。！？ including a closing quote after them) and per-language
abbreviations ("z. B.", "Dr.", "Nr.", "Prof."), and keeps decimals ("3.6 million") whole.
Around it, three repairs for splits it gets wrong in news text, each conservative:

- an initial ("M. Dupont", "J. K. Rowling", Arabic "د. أحمد") does not end a sentence;
- a "sentence" starting with a lowercase letter continues the previous one ("vb. şeyler");
- in languages that write ordinals with a dot (de, tr, the Nordic and most Central European
  languages) "der 2. Weltkrieg" / "3. Ordu" stay whole: a one- or two-digit number with a dot
  is joined to a next word that is not a stop word (sentences start with "Das", "Bu" ...,
  ordinals precede nouns). The cost: "... stieg auf 54. Weltweit ..." is joined (coarser
  evidence, never wrong evidence);
- a few titles sentencex does not know (``_ABBREVIATIONS``: Turkish "Av.", "Doç.", German
  "...str.") do not end a sentence.

Line breaks: the cleaned article keeps one paragraph per line, and a paragraph break always
ends a sentence; a line that ends without a terminator and is followed by a lowercase line
is a hard wrap and is joined. Unknown language (None): English rules, whose abbreviations are
the ones most often met in other languages' news too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sentencex

from digest.checks.lexicon import stopwords

_ORDINAL_DOT_LANGUAGES = frozenset(
    "de tr da no nb nn sv fi et lv lt is hu cs sk pl sl hr sr bs mk".split()
)
_TERMINATORS = ".!?…。！？؟۔।"
_CLOSERS = "\"'”’»)]」』"
_INITIAL = re.compile(r"(?:^|[\s(\"“«\-‐])[^\W\d_]\.$")
_ORDINAL = re.compile(r"(?:^|\s)\d{1,2}\.$")
_LAST_WORD = re.compile(r"([^\W\d_]+)\.$")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
# Titles and abbreviations sentencex splits after (folded, without the dot), per language.
_ABBREVIATIONS: dict[str, frozenset[str]] = {
    "tr": frozenset("av doç doc yrd alb org korg tuğg tugg ecz öğr ogr gör uzm sn dr prof".split()),
    "de": frozenset("str hauptstr bzw ggf vgl evtl inkl zzgl abs ca".split()),
    "fr": frozenset("mme mlle mgr me pr st ste".split()),
    "es": frozenset("sra srta dña dña gral lic".split()),
}


def _starts_lowercase(text: str) -> bool:
    first = next((c for c in text if c.isalpha()), "")
    return bool(first) and first.islower() and first.upper() != first


def _starts_uppercase(text: str) -> bool:
    first = next((c for c in text if c.isalnum()), "")
    return first.isupper()


def _paragraphs(text: str) -> list[str]:
    """Lines joined back where a line is a hard wrap (no terminator, next starts lowercase)."""
    paragraphs: list[str] = []
    joinable = False
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            joinable = False
            continue
        if joinable and paragraphs and _starts_lowercase(line):
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
        joinable = not paragraphs[-1].rstrip(_CLOSERS).endswith(tuple(_TERMINATORS))
    return paragraphs


def _continues(previous: str, piece: str, base: str) -> bool:
    """Did sentencex split inside a sentence (``previous`` is stripped, ``piece`` raw)?"""
    if _INITIAL.search(previous) or _starts_lowercase(piece):
        return True
    last = _LAST_WORD.search(previous)
    if last and last.group(1).lower() in _ABBREVIATIONS.get(base, frozenset()):
        return True
    if base in _ORDINAL_DOT_LANGUAGES and _ORDINAL.search(previous) and _starts_uppercase(piece):
        first = _FIRST_WORD.search(piece)
        return first is not None and first.group(0).lower() not in stopwords(base)
    return False


def _repair(pieces: list[str], base: str) -> list[str]:
    """Raw pieces (with their whitespace, so "J." + "-P." rejoin as written) glued back."""
    joined: list[str] = []
    for piece in pieces:
        if joined and _continues(joined[-1].strip(), piece, base):
            joined[-1] += piece
        else:
            joined.append(piece)
    return [" ".join(s.split()) for s in joined if s.strip()]


def split_sentences(text: str, lang: str | None) -> list[str]:
    """The sentences of ``text`` in order, whitespace-normalised, none empty."""
    base = re.split(r"[-_]", lang.strip().lower())[0] if lang and lang.strip() else "en"
    sentences: list[str] = []
    for paragraph in _paragraphs(text):
        sentences.extend(_repair(list(sentencex.segment(base, paragraph)), base))
    return sentences


def number_sentences(sentences: Sequence[str]) -> str:
    """The block the prompt shows: one ``[n] sentence`` per line, numbered from 1."""
    return "\n".join(f"[{i}] {sentence}" for i, sentence in enumerate(sentences, 1))
