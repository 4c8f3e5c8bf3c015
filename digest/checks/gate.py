"""The gate: the declared checks, run in order on one answer."""

from __future__ import annotations

from digest.checks.base import CheckSpec, Subject
from digest.checks.claims import CLAIM_HINTS
from digest.checks.copy import COPY
from digest.checks.form import EMPTY, LENGTH, REPETITION
from digest.checks.language import LANG_WRONG, LANGUAGE
from digest.checks.names import ENTITIES
from digest.checks.numbers import NUMBERS
from digest.checks.source import SourceIndex, WordIndex, glossary_for
from digest.checks.translation import TRANSLATION_HINTS
from digest.langid import identifier, lang_key
from digest.models import AnswerField, Check, LanguageInfo

CHECKS: tuple[CheckSpec, ...] = (EMPTY, LANGUAGE, NUMBERS, ENTITIES, COPY, REPETITION, LENGTH)
# The re-ask names what to do for every check an answer can fail: the gate's, the claim
# checks' and the translation checks'.
_HINTS = {spec.name: spec.hint for spec in CHECKS} | CLAIM_HINTS | TRANSLATION_HINTS


class Gate:
    """Built once per run: the language identifier and the glossaries of its languages."""

    def __init__(self, languages: list[LanguageInfo]) -> None:
        # Requested languages stay recognisable even when outside the common set.
        self.identifier = identifier(frozenset(info.base for info in languages))
        self._glossaries = {info.locale: glossary_for(info.locale) for info in languages}

    def glossary(self, lang: LanguageInfo) -> WordIndex:
        found = self._glossaries.get(lang.locale)
        return found if found is not None else glossary_for(lang.locale)

    def check(
        self,
        fields: list[AnswerField],
        *,
        source_text: str,
        source_lang: str | None,
        lang: LanguageInfo,
    ) -> list[Check]:
        target = lang_key(lang.base) or lang.base
        src_lang = lang_key(source_lang)
        if src_lang is None:
            code, prob = next(iter(self.identifier.scores(source_text[:4000]).items()))
            src_lang = code if prob >= LANG_WRONG else None
        subject = Subject(
            fields=fields,
            source=SourceIndex(source_text),
            lang=lang,
            target=target,
            same_language=None if src_lang is None else src_lang == target,
            glossary=self.glossary(lang),
            identifier=self.identifier,
        )
        return [spec.run(subject) for spec in CHECKS]


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
