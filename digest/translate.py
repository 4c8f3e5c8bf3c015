"""Strategy ``pivot``, second half: translate a verified summary (never the article) into
each other language, and check the translation against it.

The pivot is the summary in the article's own language, claim-checked against the article.
A translation is asked field for field (``prompts/translate``), with a declared map of how
each name was rendered; it passes the gate (form, language, numbers, names against the
article) and the translation checks (digest.checks.translation: language and script per
sentence, the pivot's numbers and names, as many key points, length). Across the edition,
one pivot name gets one form per language (``enforce_consistent_names``). Evidence ids stay
the pivot's: a faithful translation rests on the same source sentences.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass

from pydantic import BaseModel

from digest.answers import TranslationAnswer
from digest.checks.claims import NamedCheck
from digest.checks.text import fold
from digest.checks.translation import CONSISTENCY, PivotField, check_translation
from digest.errors import BudgetExceeded
from digest.models import Article, Check, LanguageInfo, StoryResult, Summary
from digest.prompts import PromptSpec
from digest.summarize import Summarizer


def pivot_fields(summary: Summary) -> list[PivotField]:
    """A summary as the translation checks address it: headline, sentences, key points."""
    return [PivotField(name="headline", text=summary.headline)] + [
        PivotField(name=label, text=claim.text, evidence=claim.evidence)
        for label, claim in summary.claims()
    ]


@dataclass(frozen=True)
class TranslationTask:
    article: Article
    pivot: Summary
    source: LanguageInfo  # the pivot's language
    lang: LanguageInfo  # the target
    spec: PromptSpec
    key: str

    def messages(self) -> list[dict[str, str]]:
        return self.spec.render(
            summary=self.pivot,
            source_language=self.source,
            language=self.lang,
            fence=self.article.id,
        )


class Translator:
    """Translation tasks on the summarizer's machinery (asking, budget, cache, gate)."""

    def __init__(self, summarizer: Summarizer, spec: PromptSpec) -> None:
        self.summarizer = summarizer
        self.spec = spec

    def task(
        self, article: Article, pivot: Summary, source: LanguageInfo, lang: LanguageInfo
    ) -> TranslationTask:
        digest = hashlib.sha256(pivot.model_dump_json().encode()).hexdigest()[:16]
        subject = f"{article.id}|{source.code}|{digest}"
        key = self.summarizer.key("translation", subject, lang, self.spec)
        return TranslationTask(article, pivot, source, lang, self.spec, key)

    def judge(self, task: TranslationTask, value: BaseModel) -> tuple[Summary, list[Check]]:
        assert isinstance(value, TranslationAnswer)
        summary = value.to_summary(task.pivot)
        gate = self.summarizer.gate
        checks = gate.check(
            summary.fields(),
            source_text=task.article.text,
            source_lang=task.article.source_lang,
            lang=task.lang,
        )
        translated = [PivotField(name="headline", text=value.headline)] + [
            PivotField(name=f"summary sentence {i}", text=text, evidence=claim.evidence)
            for i, (text, claim) in enumerate(
                zip(value.summary, task.pivot.sentences, strict=False), 1
            )
        ]
        translated += [
            PivotField(name=f"key point {i}", text=text, evidence=claim.evidence)
            for i, (text, claim) in enumerate(
                zip(value.key_points, task.pivot.points, strict=False), 1
            )
        ]
        # More fields than the pivot: named so the fields check sees them.
        translated += [
            PivotField(name=f"key point {i}", text=text)
            for i, text in enumerate(value.key_points, 1)
            if i > len(task.pivot.points)
        ]
        checks += check_translation(
            pivot_fields(task.pivot),
            translated,
            value.names,
            pivot_lang=task.source.base,
            target_lang=task.lang.base,
            identifier=gate.identifier,
            source_text=task.article.text,
        )
        return summary, checks

    def translate(self, task: TranslationTask) -> StoryResult:
        summarizer = self.summarizer
        started = time.monotonic()
        cached = summarizer.cached(task.key)
        if cached is not None:
            return cached
        base = StoryResult(
            article_id=task.article.id, lang=task.lang.code, status="withheld", origin="translation"
        )
        try:
            answer = summarizer.ask(
                self.spec, task.messages(), lambda value: self.judge(task, value)[1]
            )
        except BudgetExceeded as exc:
            return base.model_copy(update={"reason": exc.message})
        update: dict[str, object] = {
            "attempts": answer.attempts,
            "usage": answer.usage,
            "seconds": round(time.monotonic() - started, 3),
            "checks": answer.checks,
        }
        if isinstance(answer.value, TranslationAnswer):
            summary, checks = self.judge(task, answer.value)
            update |= {"summary": summary, "checks": checks, "names": answer.value.names}
        if answer.reason:
            update["reason"] = answer.reason
        else:
            update["status"] = "published"
        result = base.model_copy(update=update)
        summarizer.store(task.key, result, kind="translation", prompt=self.spec.ref)
        return result


def enforce_consistent_names(results: list[StoryResult]) -> list[StoryResult]:
    """Per language, a pivot name gets the form most of the edition's translations gave it;
    a translation that wrote it otherwise fails "name consistency" and is withheld."""
    forms: dict[tuple[str, str], Counter[str]] = {}
    for result in results:
        if result.origin == "translation" and result.status == "published":
            for name, form in result.names.items():
                forms.setdefault((result.lang, fold(name)), Counter())[fold(form)] += 1
    checked: list[StoryResult] = []
    for result in results:
        if result.origin != "translation" or result.status != "published":
            checked.append(result)
            continue
        odd = [
            f'"{name}" is "{form}" here, "{forms[(result.lang, fold(name))].most_common(1)[0][0]}"'
            " in most stories"
            for name, form in result.names.items()
            if _minority(forms[(result.lang, fold(name))], fold(form))
        ]
        check = _consistency(CONSISTENCY, odd)
        update: dict[str, object] = {"checks": [*result.checks, check]}
        if odd:
            update |= {"status": "withheld", "reason": f"{check.name}: {check.detail}"}
        checked.append(result.model_copy(update=update))
    return checked


def _minority(counts: Counter[str], form: str) -> bool:
    (top, top_count), *_ = counts.most_common(1)
    return form != top and counts[form] < top_count


def _consistency(spec: NamedCheck, problems: list[str]) -> Check:
    if problems:
        return Check(name=spec.name, status="fail", detail="; ".join(problems))
    return Check(name=spec.name, status="ok")
