"""The distortions and faithful variants bench/faithfulness.py makes of a claim.

Each perturbation takes a faithful claim (an article sentence citing itself) and returns a
distorted (claim, evidence) pair, or None when it cannot be made for that claim. Names are
found as the product finds them (capitalised mid-sentence words, digest.checks.names), so in
scripts without capitals there are no name swaps. Negation recipes exist for en, de, fr, es,
it, pt, nl, ru, tr and ar (the languages with cue lists); others get no negation perturbation.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from digest.checks.claims import SourceSentences
from digest.checks.names import entity_found, mid_sentence_capitals, name_candidates, name_part
from digest.checks.numbers import numbers_in
from digest.checks.source import SourceIndex
from digest.checks.text import WORD, fold, word_count


@dataclass(frozen=True)
class Article:
    name: str
    lang: str
    sentences: list[str]


Perturbation = Callable[
    [str, int, Article, list[Article], SourceSentences, random.Random],
    tuple[str, list[int]] | None,
]


# --- faithful variants ----------------------------------------------------------------------


def _clauses(claim: str) -> list[str]:
    body = claim.rstrip().rstrip(".!?。")
    return [c.strip() for c in re.split(r",\s+|،\s*", body) if c.strip()]


def drop_clause(claim: str, article: Article) -> str | None:
    """The claim without its last comma clause (when what is left keeps >= 4 words)."""
    parts = _clauses(claim)
    if len(parts) < 2:
        return None
    kept = ", ".join(parts[:-1])
    if len(kept.split()) < 4 or kept.count("“") != kept.count("”") or kept.count('"') % 2:
        return None
    return kept + "."


def reorder(claim: str, article: Article) -> str | None:
    """The first comma clause moved to the end ("On Monday, X did Y" -> "X did Y, on Monday")."""
    parts = _clauses(claim)
    if len(parts) < 2 or any(q in claim for q in '“”"«»„'):
        return None
    moved = parts[1:] + [parts[0]]
    text = ", ".join(moved)
    return text[:1].upper() + text[1:] + "."


FAITHFUL: dict[str, Callable[[str, Article], str | None]] = {
    "as is": lambda claim, article: claim,
    "clause dropped": drop_clause,
    "reordered": reorder,
}


# --- distortions ----------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def _shift_digit(ch: str, by: int) -> str:
    value = (unicodedata.decimal(ch) + by) % 10
    zero = ord(ch) - unicodedata.decimal(ch)
    return chr(zero + value)


def changed_number(
    claim: str, i: int, article: Article, _all: list[Article], src: SourceSentences,
    rng: random.Random,
) -> tuple[str, list[int]] | None:  # fmt: skip
    """One number's last digit changed, to a value the cited sentence does not state."""
    matches = list(_DIGITS.finditer(claim))
    if not matches:
        return None
    match = rng.choice(matches)
    token = match.group(0)
    for by in (3, 1, 5, 7, 2):
        new = token[:-1] + _shift_digit(token[-1], by)
        if len(new) > 1 and new[0] in "0٠" and token[0] not in "0٠":
            continue
        values = {v for n in numbers_in(new) for v in n.values}
        if values & src.numbers[i - 1]:
            continue
        return claim[: match.start()] + new + claim[match.end() :], [i]
    return None


def _names(claim: str, capitals: set[str], nouns: frozenset[str]) -> list[str]:
    """Names of the claim (German: not the capitalised words the article uses as nouns)."""
    found = (n for n, _ in name_candidates(claim, capitals) if len(n) >= 3)
    return list(dict.fromkeys(n for n in found if fold(n) not in nouns))


def _replace_word(text: str, old: str, new: str) -> str:
    return re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, text, count=1)


def swapped_name(
    claim: str, i: int, article: Article, _all: list[Article], src: SourceSentences,
    rng: random.Random,
) -> tuple[str, list[int]] | None:  # fmt: skip
    """A name replaced by another name of the article that the cited sentence lacks."""
    names = _names(claim, src.capitals, src.nouns)
    if not names:
        return None
    cited = SourceIndex(claim)
    pool = sorted(
        {
            name_part(w)
            for s in article.sentences
            for w, _ in name_candidates(s, src.capitals)
            if len(w) >= 3 and not entity_found(name_part(w), cited) and fold(w) not in src.nouns
        }
    )
    if not pool:
        return None
    return _replace_word(claim, rng.choice(names), rng.choice(pool)), [i]


def swapped_participants(
    claim: str, i: int, article: Article, _all: list[Article], src: SourceSentences,
    rng: random.Random,
) -> tuple[str, list[int]] | None:  # fmt: skip
    """Two named participants (whole runs of capitalised words, "Javier Ortega") trade
    places, first occurrence of each."""
    capitals = src.capitals | mid_sentence_capitals([claim])
    candidates = name_candidates(claim, capitals)
    names = {n for n, _ in candidates if fold(n) not in src.nouns}
    runs = list(
        dict.fromkeys(" ".join(w for w in run if w in names) for n, run in candidates if n in names)
    )
    runs = [r for r in runs if r and r in claim and len(r) >= 3]
    pairs = [
        (a, b)
        for k, a in enumerate(runs)
        for b in runs[k + 1 :]
        if not set(a.split()) & set(b.split()) and a not in b and b not in a
    ]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    marker = "\x00"
    swapped = _replace_word(claim, a, marker)
    swapped = _replace_word(swapped, b, a)
    swapped = swapped.replace(marker, b, 1)
    return (swapped, [i]) if swapped != claim else None


def unsupported(
    claim: str, i: int, article: Article, everything: list[Article], src: SourceSentences,
    rng: random.Random,
) -> tuple[str, list[int]] | None:  # fmt: skip
    """Another article's sentence (same language) appended; else an uncited, non-adjacent
    sentence of this article."""
    others = [
        s
        for other in everything
        if other.lang == article.lang and other.name != article.name
        for s in other.sentences
        if word_count(s) >= 5
    ]
    if not others:
        others = [
            s
            for k, s in enumerate(article.sentences, 1)
            if abs(k - i) > 1 and word_count(s) >= 5 and s != claim
        ]
    if not others:
        return None
    return f"{claim} {rng.choice(others)}", [i]


def added_clause(
    claim: str, i: int, article: Article, _all: list[Article], src: SourceSentences,
    rng: random.Random,
) -> tuple[str, list[int]] | None:  # fmt: skip
    """A clause (>= 4 words, between commas) of an uncited, non-adjacent sentence of the same
    article slipped in before the claim's final stop: on topic, but not in the evidence."""
    clauses = [
        c
        for k, s in enumerate(article.sentences, 1)
        if abs(k - i) > 1 and s != claim
        for c in _clauses(s)
        if word_count(c) >= 4 and not any(q in c for q in '“”"«»„')
    ]
    if not clauses:
        return None
    body = claim.rstrip()
    stop = body[-1] if body and body[-1] in ".!?。" else ""
    body = body[: len(body) - len(stop)]
    return f"{body}, {rng.choice(clauses)}{stop or '.'}", [i]


def wrong_citation(
    claim: str, i: int, article: Article, _all: list[Article], src: SourceSentences,
    rng: random.Random,
) -> tuple[str, list[int]] | None:  # fmt: skip
    """The same claim citing another sentence of the article."""
    choices = [k for k, s in enumerate(article.sentences, 1) if k != i and s != claim]
    return (claim, [rng.choice(choices)]) if choices else None


# --- negation -------------------------------------------------------------------------------

_REMOVE: dict[str, list[tuple[str, str]]] = {
    "en": [
        (r"\bcannot\b", "can"), (r"\bcan't\b", "can"), (r"\bwon't\b", "will"),
        (r"\b(\w+)n['’]t\b", r"\1"), (r"\b(not|never) ", ""), (r"\bwithout\b", "with"),
        (r"\bno (?=\w)", "a "),
    ],
    "de": [(r" nicht\b", ""), (r"\bkein", "ein"), (r"\bKein", "Ein"), (r" nie\b", " immer"),
           (r"\bohne\b", "mit")],
    "fr": [(r"\bn['’](\w+) (pas|jamais|plus|rien)\b", r"\1"),
           (r"\bne (\w+) (pas|jamais|plus|rien)\b", r"\1"), (r"\bsans\b", "avec")],
    "es": [(r"\bno (?=\w)", ""), (r"\bsin\b", "con"), (r"\bnunca\b", "siempre")],
    "it": [(r"\bnon (?=\w)", ""), (r"\bsenza\b", "con"), (r"\bmai\b", "sempre")],
    "pt": [(r"\bnão (?=\w)", ""), (r"\bsem\b", "com"), (r"\bnunca\b", "sempre")],
    "nl": [(r" niet\b", ""), (r"\bgeen\b", "een"), (r"\bzonder\b", "met")],
    "ru": [(r"(^|\s)не ", r"\1"), (r"(^|\s)без ", r"\1с ")],
    "tr": [(r" değil\b", ""), (r"\byok\b", "var")],
    "ar": [(r"(^|\s)(لا|لم|لن|ليس|ليست) ", r"\1"), (r"(^|\s)(ولا|ولم|ولن) ", r"\1و"),
           (r"(^|\s)دون ", r"\1مع ")],
}  # fmt: skip
_ADD: dict[str, list[tuple[str, str]]] = {
    "en": [(r"\b(is|are|was|were|will|would|can|could|has|have|had|should|must|may|did|does)\b",
            r"\1 not")],
    "de": [(r"\b(ist|sind|war|waren|hat|haben|hatte|hatten|wird|werden|wurde|wurden|kann|"
            r"können|soll|sollen|will|wollen|muss|müssen|habe|sei|seien)\b", r"\1 nicht")],
    "fr": [(r"\b(est|sont|sera|seront|était|doit|doivent|peut|peuvent|va|vont)\b",
            r"ne \1 pas"), (r"\b(a|ont|avait|avaient)\b(?= \w+[éi]e?s?\b)", r"n'\1 pas")],
    "es": [(r"\b(es|son|está|están|fue|fueron|ha|han|será|serán|va|van|puede|pueden|debe|"
            r"deben|tiene|tienen|había|habían)\b", r"no \1"),
           (r"\b(\w{3,}(?:ó|aron|ieron))\b", r"no \1")],
    "it": [(r"\b(è|sono|ha|hanno|sarà|saranno|era|erano|può|possono|deve|devono)\b",
            r"non \1")],
    "pt": [(r"\b(é|são|foi|foram|está|estão|tem|têm|vai|vão|pode|podem|deve|devem|será)\b",
            r"não \1")],
    "nl": [(r"\b(is|zijn|was|waren|heeft|hebben|wordt|worden|kan|kunnen|zal|zullen|moet)\b",
            r"\1 niet")],
    "ru": [(r"(^|\s)(?=\w{2,}(?:ал|ала|али|ило|ет|ит|ют|ят|ут)\b)", r"\1не ")],
    "ar": [(r"(^|\s)(?=[يت](?!ال)\w{3,})", r"\1لا ")],
}  # fmt: skip
_TR_PAST = re.compile(r"\b(\w{2,}?)([dt])([ıiuü])(?=\W*$|\s)")
_TR_FUTURE = re.compile(r"\b(\w{2,}?)([ae])c([ae])(k|ğ)")
_TR_PROGRESSIVE = re.compile(r"\b(\w{2,}?)([ıiuü])yor")
_BACK = set("aıou")


def _tr_negate(text: str) -> str | None:
    """Turkish: the last past, future or progressive verb made negative (harmony kept)."""

    def vowel(stem: str) -> str:
        last = next((c for c in reversed(stem) if c in "aeıioöuü"), "e")
        return "a" if last in _BACK else "e"

    for pattern, build in (
        (_TR_PROGRESSIVE, lambda m: f"{m.group(1)}m{m.group(2)}yor"),
        (_TR_FUTURE, lambda m: f"{m.group(1)}m{vowel(m.group(1))}y{m.group(2)}c"
         f"{m.group(3)}{m.group(4)}"),
        (_TR_PAST, lambda m: f"{m.group(1)}m{vowel(m.group(1))}d"
         f"{'ı' if vowel(m.group(1)) == 'a' else 'i'}"),
    ):  # fmt: skip
        matches = list(pattern.finditer(text))
        if matches:
            m = matches[-1]
            return text[: m.start()] + build(m) + text[m.end() :]
    return None


def negation(
    claim: str, i: int, article: Article, _all: list[Article], src: SourceSentences,
    rng: random.Random,
) -> tuple[str, list[int]] | None:  # fmt: skip
    """A negation removed when the claim has one, else added."""
    lang = article.lang
    if src.lexicon.negations(claim):
        for pattern, repl in _REMOVE.get(lang, []):
            new = re.sub(pattern, repl, claim, count=1)
            if new != claim:
                return new, [i]
        if lang == "tr":
            for word in WORD.findall(claim):
                root = src.lexicon.negations(word)
                if root and word[:1].islower():
                    match = re.match(r"^(\w{2,}?)m[ae](y(?=[ae]c))?(.*)$", word)
                    if match:
                        return claim.replace(word, match.group(1) + match.group(3), 1), [i]
        return None
    if lang == "tr":
        new_tr = _tr_negate(claim)
        return (new_tr, [i]) if new_tr else None
    for pattern, repl in _ADD.get(lang, []):
        new = re.sub(pattern, repl, claim, count=1)
        if new != claim:
            return new, [i]
    return None


PERTURBATIONS: dict[str, Perturbation] = {
    "number": changed_number,
    "name": swapped_name,
    "negation": negation,
    "participants": swapped_participants,
    "unsupported": unsupported,
    "added clause": added_clause,
    "citation": wrong_citation,
}
