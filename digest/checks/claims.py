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

    source = SourceSentences.from_text(article.text, article.source_lang)  # once per article
    prompt_block = source.numbered()                                       # "[1] ...\n[2] ..."
    checks = check_claim("Turkey hosts 3.6 million refugees.", [9], source, label="key point 2")
    checks += check_headline(headline, [[9], [1, 3]], source)
    hints = {name: CLAIM_HINTS[name] for name in {c.name for c in checks if c.status == "fail"}}

Citation marks left in a claim ("... refugees [9]") are ignored, not read as numbers.
"""

from __future__ import annotations

import re
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
from digest.checks.roles import ids_label, swapped_roles
from digest.checks.scripts import CASED_SCRIPTS, text_script, word_script
from digest.checks.source import SourceIndex, WordIndex, glossary_for
from digest.checks.text import WORD, fold, quoted
from digest.ingest.sentences import number_sentences, split_sentences
from digest.langid import lang_key
from digest.models import Check, CheckStatus

# Calibrated on hand-written faithful paraphrases and distortions (tests/test_claims.py,
# bench/faithfulness.py): faithful paraphrases keep >= 0.67 of their content words, the
# distortions seen ("launched airstrikes" for "hit 54 regime targets") keep <= 0.4.
SUPPORT_MIN = 0.6
_CITATION_MARK = re.compile(r"\s*\[\d+(?:\s*[,;–-]\s*\d+)*\]")
SUPPORT_MIN_WORDS = 2  # a claim sentence with fewer content words is not judged on coverage
CLAUSE_MIN, CLAUSE_MIN_WORDS = 0.34, 3  # an added clause: at most a third of its words cited
_CLAUSE = re.compile(r"[,;:]\s+|\s[–—]\s|،\s*|[、，；：]")


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


def _check(spec: NamedCheck, problems: list[str], label: str, status: CheckStatus = "ok") -> Check:
    if problems:
        return Check(name=spec.name, status="fail", detail=f"{label}: " + "; ".join(problems))
    return Check(name=spec.name, status=status)


def _unverified(spec: NamedCheck, why: str) -> Check:
    return Check(name=spec.name, status="unverified", detail=why)


def _citations(evidence: Sequence[int], source: SourceSentences) -> list[str]:
    if not evidence:
        return ["cites no sentence"]
    bad = [i for i in evidence if not 1 <= i <= len(source)]
    if bad:
        return [f"cites {bad}, but the article's sentences are [1] to [{len(source)}]"]
    return []


def _numbers(claim: str, cited: list[int], source: SourceSentences) -> list[str]:
    allowed: set[Decimal] = set().union(*(source.numbers[i - 1] for i in cited))
    problems: list[str] = []
    for number in numbers_in(claim):
        if number.values & allowed:
            continue
        where = [i for i, values in enumerate(source.numbers, 1) if number.values & values]
        problem = f'"{number.surface}" is not in {ids_label(cited)}'
        problem += f" (it is in {ids_label(where)})" if where else " (nor anywhere in the article)"
        if problem not in problems:
            problems.append(problem)
    return problems


@lru_cache(maxsize=32)
def _glossary(lang: str | None) -> WordIndex:
    return glossary_for(lang) if lang else WordIndex([])


def _names(
    claim: str, cited: list[int], source: SourceSentences, claim_lang: str | None, same: bool
) -> tuple[list[str], list[str]]:
    """(failed, unsure) name problems. Cased scripts (Latin, Cyrillic, Greek): capitalised
    names (names.py rules). A claim in a script without capitals: only its words in a cased
    script (a stray "Erdogan" in Arabic must stand in the cited sentences). A claim in
    another script than the article: unverified."""
    lang = lang_key(claim_lang) or source.lang
    script = text_script(claim)
    unsure: list[str] = []
    if script not in CASED_SCRIPTS:
        candidates = [
            (w, [w]) for w in WORD.findall(claim) if word_script(w) in CASED_SCRIPTS and len(w) >= 2
        ]
        unsure.append("names in a script without capitals are not verified")
    elif script != text_script(" ".join(source.sentences)):
        return [], ["names across scripts are not verified"]
    else:
        candidates = name_candidates(claim, source.capitals | mid_sentence_capitals([claim]))
    found_in = [source.indexes[i - 1] for i in cited]
    cited_index = SourceIndex(source.text(cited))
    failed: list[str] = []
    seen: set[str] = set()
    german = lang in {"de", "lb"} and script == "LATIN"
    nouns = source.nouns | common_nouns([claim], lang)
    for name, run in candidates:
        if name in seen or any(entity_found(name, index) for index in found_in):
            continue
        seen.add(name)
        together = " ".join(run)
        in_run = name in run and len(run) > 1  # names.py may hand a neighbour's run
        if (
            in_run
            and any(together in sentence for sentence in source.sentences)
            and any(
                len(other) >= 3 and any(entity_found(other, index) for index in found_in)
                for other in run
                if other != name
            )
        ):
            continue  # "Javier Ortega" (so named in the article) citing a sentence on "Ortega"
        if german and not name.isupper() and fold(name) in nouns:
            continue  # a German common noun: left to the support check
        where = [i for i, index in enumerate(source.indexes, 1) if entity_found(name, index)]
        if where:
            failed.append(f'"{name}" is not in {ids_label(cited)} (it is in {ids_label(where)})')
        elif not same and maybe_translated(name, run, cited_index, _glossary(lang)):
            unsure.append(f'"{name}" (translated?)')
        elif german and not name.isupper():
            unsure.append(f'"{name}" (a German noun or a name?)')
        else:
            failed.append(f'"{name}" is not in {ids_label(cited)} (nor anywhere in the article)')
    return failed, unsure


def _support(claim: str, cited: list[int], source: SourceSentences) -> list[str]:
    """Per claim sentence, >= SUPPORT_MIN of its content words in the cited sentences; per
    clause (between commas, semicolons, dashes) of >= CLAUSE_MIN_WORDS content words, more
    than CLAUSE_MIN: so neither an added sentence nor an added clause hides in the rest."""
    lex = source.lexicon
    cited_stems = {s for i in cited for s in source.stems[i - 1]}
    problems: list[str] = []
    for part in split_sentences(claim, source.lang) or [claim]:
        units = [(part, SUPPORT_MIN_WORDS, SUPPORT_MIN)]
        clauses = [c for c in _CLAUSE.split(part) if c.strip()]
        if len(clauses) > 1:
            units += [(c, CLAUSE_MIN_WORDS, CLAUSE_MIN) for c in clauses]
        for text, min_words, min_share in units:
            words = lex.content_words(text)
            stems = list(dict.fromkeys(stem for _, stem in words))
            if len(stems) < min_words:
                continue
            missing = [s for s in stems if not any(stems_match(s, c) for c in cited_stems)]
            share = 1 - len(missing) / len(stems)
            if share >= min_share:
                continue
            problems.append(_unsupported(words, missing, share, cited, source))
            break  # one problem per claim sentence
    return problems


def _unsupported(
    words: list[tuple[str, str]], missing: list[str], share: float, cited: list[int],
    source: SourceSentences,
) -> str:  # fmt: skip
    surfaces = list(dict.fromkeys(w for w, s in words if s in missing))
    others = [
        i
        for i, sentence_stems in enumerate(source.stems, 1)
        if i not in cited
        and sum(any(stems_match(m, s) for s in sentence_stems) for m in missing) * 2 >= len(missing)
    ]
    hint = f" (see {ids_label(others[:3])})" if others else ""
    return (
        f"{quoted(surfaces)} {'is' if len(surfaces) == 1 else 'are'} not in "
        f"{ids_label(cited)}{hint}, only {share:.0%} of its words are"
    )


def _same_negation(a: Negation, b: Negation) -> bool:
    """Two cues negate the same thing: the head (nearest content word) of one is in the
    other's scope. A cue without scope ("sin" in "sin embargo", "n'" before "est") matches
    only the same cue without scope: matching any would let one negation excuse another."""
    if not a.scope or not b.scope:
        return not a.scope and not b.scope and fold(a.cue) == fold(b.cue)
    return any(stems_match(a.scope[0], s) for s in b.scope) or any(
        stems_match(b.scope[0], s) for s in a.scope
    )


def _surface(scope: tuple[str, ...], text: str, lex: Lexicon) -> str:
    """The word as written for the head of a negation's scope (stems read badly)."""
    return next((w for w, stem in lex.content_words(text) if stem == scope[0]), scope[0])


def _negation(claim: str, cited: list[int], source: SourceSentences) -> list[str]:
    lex = source.lexicon
    claim_negations = lex.negations(claim)
    claim_stems = lex.content_stems(claim)
    cited_negations: list[Negation] = [n for i in cited for n in source.negations[i - 1]]
    problems: list[str] = []
    for negation in claim_negations:
        supported = any(_same_negation(negation, other) for other in cited_negations)
        if not supported:
            what = f" {_surface(negation.scope, claim, lex)}" if negation.scope else ""
            problems.append(f'negation "{negation.cue}{what}" is not in {ids_label(cited)}')
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
                f'{ids_label(cited)} {verb} "{negation.cue}" about '
                f'"{_surface(negation.scope, source.text(cited), lex)}", '
                "the claim does not"
            )
    return list(dict.fromkeys(problems))


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
    claim = _CITATION_MARK.sub("", claim).strip()
    problems = _citations(evidence, source)
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
    if text_script(claim) in CASED_SCRIPTS:
        names = {fold(name_part(n)) for n, _ in name_candidates(claim, source.capitals)}
        cited_texts = {i: source.sentences[i - 1] for i in cited}
        problems = swapped_roles(claim, cited_texts, names, source.lexicon)
        checks.append(_check(ROLES, problems, label))
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
