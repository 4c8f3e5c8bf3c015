"""Claim checks: each point of a summary against the article sentences it cites.

The article is split into numbered sentences once (``SourceSentences``); every claim (a
summary sentence, a key point) comes with the 1-based ids of the sentences it rests on.
``check_claim`` returns one ``Check`` per declared check (``CLAIM_CHECKS``):

    citations      at least one id, every id a real sentence
    cited numbers  every number of the claim stands in the cited sentences (numbers.py)
    cited names    every proper name of the claim stands in the cited sentences (names.py)
    support        the claim's content words (stemmed, stop words out) are covered by the cited
                   sentences: >= SUPPORT_MIN per claim sentence, so an added sentence fails alone
    negation       a negation on one side only (cue lists: digest.checks.lexicon)
    roles          two named participants swapped (a name standing where the source has another)

Across languages (``same_language=False``: a claim written straight in another language)
only citations, numbers and names apply (names translation-tolerant, as in names.py); the
word-level checks are "unverified". A failing check's detail names the claim and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from digest.checks.lexicon import Lexicon, Negation, common_nouns, lexicon, stems_match
from digest.checks.names import (
    entity_found,
    maybe_translated,
    mid_sentence_capitals,
    name_candidates,
    name_part,
)
from digest.checks.numbers import number_values, numbers_in
from digest.checks.source import SourceIndex, WordIndex, glossary_for
from digest.checks.text import WORD, fold, is_latin_text, quoted
from digest.ingest.sentences import number_sentences, split_sentences
from digest.langid import lang_key
from digest.models import Check, CheckStatus

# Calibrated on hand-written faithful paraphrases and distortions (tests/test_claims.py,
# bench/faithfulness.py): faithful paraphrases keep >= 0.67 of their content words, the
# distortions seen ("launched airstrikes" for "hit 54 regime targets") keep <= 0.4.
SUPPORT_MIN = 0.6
SUPPORT_MIN_WORDS = 2  # a claim sentence with fewer content words is not judged on coverage


@dataclass(frozen=True)
class NamedCheck:
    """A check's name and the hint the re-ask gives the model (claim and translation checks)."""

    name: str
    hint: str


CITATIONS = NamedCheck("citations", "cite at least one sentence number [n] from the list")
CITED_NUMBERS = NamedCheck(
    "cited numbers", "use only numbers that stand in the sentences you cite, or cite those"
)
CITED_NAMES = NamedCheck(
    "cited names", "name only who and what the cited sentences name, spelled as there"
)
SUPPORT = NamedCheck(
    "support", "say only what the cited sentences say, in their words, and cite each one used"
)
NEGATION = NamedCheck("negation", "keep every 'not' and 'no' exactly as the cited sentences")
ROLES = NamedCheck("roles", "keep who did what to whom as the cited sentences say")
CLAIM_CHECKS: tuple[NamedCheck, ...] = (
    CITATIONS,
    CITED_NUMBERS,
    CITED_NAMES,
    SUPPORT,
    NEGATION,
    ROLES,
)
CLAIM_HINTS = {check.name: check.hint for check in CLAIM_CHECKS}


class SourceSentences:
    """An article as numbered sentences, with what the checks look up per sentence: its
    numbers, names (a ``SourceIndex`` each), content stems and negations. Built once."""

    def __init__(self, sentences: Sequence[str], lang: str | None) -> None:
        self.sentences = [" ".join(s.split()) for s in sentences]
        self.lang = lang_key(lang)
        self.lexicon: Lexicon = lexicon(self.lang)
        self.numbers = [number_values(s) for s in self.sentences]
        self.indexes = [SourceIndex(s) for s in self.sentences]
        self.stems = [tuple(self.lexicon.content_stems(s)) for s in self.sentences]
        self.negations = [tuple(self.lexicon.negations(s)) for s in self.sentences]
        self.capitals = mid_sentence_capitals(self.sentences)
        self.nouns = common_nouns(self.sentences, self.lang)  # German: capitalised, not names

    @classmethod
    def from_text(cls, text: str, lang: str | None) -> SourceSentences:
        return cls(split_sentences(text, lang), lang)

    def __len__(self) -> int:
        return len(self.sentences)

    def numbered(self) -> str:
        """The ``[1] ... [n]`` block the prompt shows."""
        return number_sentences(self.sentences)

    def text(self, ids: Iterable[int]) -> str:
        return " ".join(self.sentences[i - 1] for i in ids)


def _ids(ids: Iterable[int]) -> str:
    shown = sorted(set(ids))
    return f"sentence [{shown[0]}]" if len(shown) == 1 else f"sentences {shown}"


def _check(spec: NamedCheck, problems: list[str], label: str, status: CheckStatus = "ok") -> Check:
    if problems:
        return Check(name=spec.name, status="fail", detail=f"{label}: " + "; ".join(problems))
    return Check(name=spec.name, status=status)


def _unverified(spec: NamedCheck, why: str) -> Check:
    return Check(name=spec.name, status="unverified", detail=why)


def _citations(evidence: Sequence[int], source: SourceSentences, label: str) -> list[str]:
    if not evidence:
        return [f"{label} cites no sentence"]
    bad = [i for i in evidence if not 1 <= i <= len(source)]
    if bad:
        return [f"{label} cites {bad}, but the article's sentences are [1] to [{len(source)}]"]
    return []


def _numbers(claim: str, cited: list[int], source: SourceSentences) -> list[str]:
    allowed: set[Decimal] = set().union(*(source.numbers[i - 1] for i in cited))
    problems: list[str] = []
    for number in numbers_in(claim):
        if number.values & allowed:
            continue
        where = [i for i, values in enumerate(source.numbers, 1) if number.values & values]
        problem = f'"{number.surface}" is not in {_ids(cited)}'
        problem += f" (it is in {_ids(where)})" if where else " (nor anywhere in the article)"
        if problem not in problems:
            problems.append(problem)
    return problems


@lru_cache(maxsize=32)
def _glossary(lang: str | None) -> WordIndex:
    return glossary_for(lang) if lang else WordIndex([])


def _names(
    claim: str, cited: list[int], source: SourceSentences, claim_lang: str | None, same: bool
) -> tuple[list[str], list[str]]:
    """(failed, unsure) name problems. Cased scripts: capitalised names (names.py rules).
    A claim in a script without capitals: only its Latin-script words (a stray "Erdogan"
    must stand in the cited sentences). A Latin claim on a non-Latin article: unverified."""
    lang = lang_key(claim_lang) or source.lang
    source_latin = is_latin_text(" ".join(source.sentences))
    unsure: list[str] = []
    if not is_latin_text(claim):
        candidates = [(w, [w]) for w in WORD.findall(claim) if is_latin_text(w) and len(w) >= 2]
        unsure.append("names in a script without capitals are not verified")
    elif not source_latin:
        return [], ["names across scripts are not verified"]
    else:
        candidates = name_candidates(claim, source.capitals | mid_sentence_capitals([claim]))
    found_in = [source.indexes[i - 1] for i in cited]
    cited_index = SourceIndex(source.text(cited))
    failed: list[str] = []
    seen: set[str] = set()
    german = lang in {"de", "lb"} and is_latin_text(claim)
    nouns = source.nouns | common_nouns([claim], lang)
    for name, run in candidates:
        if name in seen or any(entity_found(name, index) for index in found_in):
            continue
        seen.add(name)
        together = " ".join(run)
        if any(together in sentence for sentence in source.sentences) and any(
            len(other) >= 3 and any(entity_found(other, index) for index in found_in)
            for other in run
            if other != name
        ):
            continue  # "Javier Ortega" (so named in the article) citing a sentence on "Ortega"
        if german and not name.isupper() and fold(name) in nouns:
            continue  # a German common noun: left to the support check
        where = [i for i, index in enumerate(source.indexes, 1) if entity_found(name, index)]
        if where:
            failed.append(f'"{name}" is not in {_ids(cited)} (it is in {_ids(where)})')
        elif not same and maybe_translated(name, run, cited_index, _glossary(lang)):
            unsure.append(f'"{name}" (translated?)')
        elif german and not name.isupper():
            unsure.append(f'"{name}" (a German noun or a name?)')
        else:
            failed.append(f'"{name}" is not in {_ids(cited)} (nor anywhere in the article)')
    return failed, unsure


def _support(claim: str, cited: list[int], source: SourceSentences) -> list[str]:
    lex = source.lexicon
    cited_stems = {s for i in cited for s in source.stems[i - 1]}
    problems: list[str] = []
    for part in split_sentences(claim, source.lang) or [claim]:
        words = lex.content_words(part)
        stems = list(dict.fromkeys(stem for _, stem in words))
        if len(stems) < SUPPORT_MIN_WORDS:
            continue
        missing = [s for s in stems if not any(stems_match(s, c) for c in cited_stems)]
        share = 1 - len(missing) / len(stems)
        if share >= SUPPORT_MIN:
            continue
        surfaces = list(dict.fromkeys(w for w, s in words if s in missing))
        others = [
            i
            for i, sentence_stems in enumerate(source.stems, 1)
            if i not in cited
            and sum(any(stems_match(m, s) for s in sentence_stems) for m in missing) * 2
            >= len(missing)
        ]
        hint = f" (see {_ids(others[:3])})" if others else ""
        problems.append(
            f"{quoted(surfaces)} {'is' if len(surfaces) == 1 else 'are'} not in "
            f"{_ids(cited)}{hint}, only {share:.0%} of its words are"
        )
    return problems


def _same_negation(a: Negation, b: Negation) -> bool:
    """Two cues negate the same thing: the head (nearest content word) of one is in the
    other's scope. A cue without scope matches any."""
    if not a.scope or not b.scope:
        return True
    return any(stems_match(a.scope[0], s) for s in b.scope) or any(
        stems_match(b.scope[0], s) for s in a.scope
    )


def _negation(claim: str, cited: list[int], source: SourceSentences) -> list[str]:
    lex = source.lexicon
    claim_negations = lex.negations(claim)
    claim_stems = lex.content_stems(claim)
    cited_negations: list[Negation] = [n for i in cited for n in source.negations[i - 1]]
    problems: list[str] = []
    for negation in claim_negations:
        supported = any(_same_negation(negation, other) for other in cited_negations)
        if not supported:
            what = f' "{negation.cue} {"/".join(negation.scope[:2])}"' if negation.scope else ""
            problems.append(f"negation{what} is not in {_ids(cited)}")
    for negation in cited_negations:
        if not negation.scope:
            continue
        head_kept = any(stems_match(negation.scope[0], s) for s in claim_stems)
        kept = sum(any(stems_match(w, s) for s in claim_stems) for w in negation.scope)
        if not head_kept or kept * 2 < len(negation.scope):
            continue
        if not any(_same_negation(negation, mine) for mine in claim_negations):
            verb = "says" if len(cited) == 1 else "say"
            problems.append(
                f'{_ids(cited)} {verb} "{negation.cue}" about "{negation.scope[0]}", '
                "the claim does not"
            )
    return list(dict.fromkeys(problems))


def _positions(text: str, names: set[str], lex: Lexicon) -> list[tuple[str, str]]:
    """The text as (kind, key) items in order: ("name", folded name) or ("word", stem)."""
    items: list[tuple[str, str]] = []
    for match in WORD.finditer(text):
        key = fold(name_part(match.group(0)))
        name = next((n for n in names if key == n or (len(n) >= 4 and key.startswith(n))), None)
        if name is not None:
            items.append(("name", name))
        else:
            items.extend(("word", stem) for stem in lex.content_stems(match.group(0)))
    return items


def _between(items: list[tuple[str, str]], a: str, b: str) -> list[set[str]]:
    """Content stems between each occurrence of name ``a`` and a later name ``b``."""
    found: list[set[str]] = []
    for i, (kind, key) in enumerate(items):
        if kind != "name" or key != a:
            continue
        words: set[str] = set()
        for kind2, key2 in items[i + 1 :]:
            if kind2 == "name" and key2 == b:
                found.append(words)
                break
            if kind2 == "name" and key2 == a:
                break
            if kind2 == "word":
                words.add(key2)
    return found


def _alike(words: set[str], other: set[str]) -> bool:
    """Two thirds of ``words`` (>= 2) are in ``other``."""
    shared = sum(any(stems_match(w, o) for o in other) for w in words)
    return shared >= 2 and shared * 3 >= len(words) * 2


def _frames(text: str, names: set[str]) -> list[tuple[str, str, str, int, int]]:
    """Each run of names ("Vice President Fuat Oktay") as (key: its last name, the word or
    mark before it, the one after it, first and last token index)."""
    tokens = [(m.start(), m.end(), m.group(0)) for m in WORD.finditer(text)]
    found: list[tuple[str, str, str, int, int]] = []
    i = 0
    while i < len(tokens):
        if fold(name_part(tokens[i][2])) not in names:
            i += 1
            continue
        j = i
        while (
            j + 1 < len(tokens)
            and fold(name_part(tokens[j + 1][2])) in names
            and not text[tokens[j][1] : tokens[j + 1][0]].strip()
        ):
            j += 1

        def side(gap: str, word: str) -> str:
            return gap.strip()[:1] if gap.strip() else fold(word)

        before = side(text[tokens[i - 1][1] : tokens[i][0]], tokens[i - 1][2]) if i else "^"
        after = (
            side(text[tokens[j][1] : tokens[j + 1][0]], tokens[j + 1][2])
            if j + 1 < len(tokens)
            else "$"
        )
        found.append((fold(name_part(tokens[j][2])), before, after, i, j))
        i = j + 1
    return found


def _exchanged(claim: str, cited: list[int], source: SourceSentences, names: set[str]) -> list[str]:
    """Two runs of names that took each other's places: each stands between words the source
    has around the other, never around itself ("Russia said" where the source has "Oktay
    said", and "with Oktay" where it has "with Russia"). Names joined by one word ("X and Y")
    are not judged: the order of a list means nothing."""
    mine = _frames(claim, names)
    theirs: dict[str, set[tuple[str, str]]] = {}
    for i in cited:
        for key, before, after, _, _ in _frames(source.sentences[i - 1], names):
            theirs.setdefault(key, set()).update({("L", before), ("R", after)})
    problems: list[str] = []
    for k, (a, a_before, a_after, _, a_last) in enumerate(mine):
        for b, b_before, b_after, b_first, _ in mine[k + 1 :]:
            if a == b or a not in theirs or b not in theirs or b_first - a_last <= 2:
                continue
            at_a, at_b = {("L", a_before), ("R", a_after)}, {("L", b_before), ("R", b_after)}
            if not (at_a & theirs[a] or at_b & theirs[b]) and at_a & theirs[b] and at_b & theirs[a]:
                problems.append(f'"{a}" and "{b}" have swapped places against {_ids(cited)}')
    return problems


def _roles(claim: str, cited: list[int], source: SourceSentences) -> list[str]:
    """Two names the other way round around the same words: "13 Syrian soldiers were killed
    by Turkish attacks" for "13 Turkish soldiers were killed by Syrian attacks"; or two runs
    of names that took each other's places (``_exchanged``). Names whose order changes around
    different words (a rephrasing) pass."""
    names = {fold(name_part(n)) for n, _ in name_candidates(claim, source.capitals)}
    names = {n for n in names if len(n) >= 2}
    if len(names) < 2:
        return []
    lex = source.lexicon
    mine = _positions(claim, names, lex)
    theirs = [(i, _positions(source.sentences[i - 1], names, lex)) for i in cited]
    problems: list[str] = []
    for a in sorted(names):
        for b in sorted(names - {a}):
            for words in _between(mine, a, b):
                if any(_alike(words, o) for _, items in theirs for o in _between(items, a, b)):
                    continue  # the source has them in this order around these words too
                flipped = [
                    i for i, items in theirs if any(_alike(words, o) for o in _between(items, b, a))
                ]
                if flipped:
                    problems.append(f'"{a}" and "{b}" are the other way round in {_ids(flipped)}')
    return list(dict.fromkeys(problems + _exchanged(claim, cited, source, names)))


def check_claim(
    claim: str,
    evidence: Sequence[int],
    source: SourceSentences,
    *,
    label: str = "claim",
    claim_lang: str | None = None,
    same_language: bool = True,
) -> list[Check]:
    """One ``Check`` per ``CLAIM_CHECKS`` entry for ``claim`` citing ``evidence`` (1-based).

    ``label`` names the claim in details ("key point 2"); ``claim_lang`` is the claim's
    language (defaults to the source's); ``same_language=False`` for a claim written in
    another language than the article: then only citations, numbers and names apply."""
    problems = _citations(evidence, source, label)
    cited = sorted({i for i in evidence if 1 <= i <= len(source)})
    checks = [_check(CITATIONS, problems, label)]
    if not cited:
        why = "no valid sentence cited"
        return checks + [_unverified(spec, why) for spec in CLAIM_CHECKS[1:]]
    checks.append(_check(CITED_NUMBERS, _numbers(claim, cited, source), label))
    failed, unsure = _names(claim, cited, source, claim_lang, same_language)
    if failed or not unsure:
        checks.append(_check(CITED_NAMES, failed, label))
    else:
        checks.append(_unverified(CITED_NAMES, f"{label}: " + ", ".join(unsure)))
    if not same_language:
        why = "claim written in another language than the article"
        return checks + [_unverified(spec, why) for spec in (SUPPORT, NEGATION, ROLES)]
    checks.append(_check(SUPPORT, _support(claim, cited, source), label))
    if source.lexicon.has_negation:
        checks.append(_check(NEGATION, _negation(claim, cited, source), label))
    else:
        checks.append(_unverified(NEGATION, f"no negation cues for language {source.lang}"))
    if is_latin_text(claim):
        checks.append(_check(ROLES, _roles(claim, cited, source), label))
    else:
        checks.append(_unverified(ROLES, "names in a script without capitals are not found"))
    return checks


def check_headline(
    headline: str,
    evidence: Iterable[Sequence[int]],
    source: SourceSentences,
    *,
    claim_lang: str | None = None,
    same_language: bool = True,
) -> list[Check]:
    """The headline against the union of every claim's cited sentences."""
    union = sorted({i for ids in evidence for i in ids})
    return check_claim(
        headline,
        union,
        source,
        label="headline",
        claim_lang=claim_lang,
        same_language=same_language,
    )
