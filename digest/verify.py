"""The optional verifier pass (``--verify``): a second model call per published summary asks,
claim by claim with the sentences each cites, "supported, contradicted or not found?".

Its verdicts join the claim checks: a claim judged contradicted or not found fails
"verifier", so a key point is dropped (if three remain) or the story withheld, exactly as
for the mechanical checks. It costs one call per summary that cites sentences; the verdicts
are cached like answers.
"""

from __future__ import annotations

from pydantic import BaseModel

from digest.answers import VerdictsAnswer
from digest.errors import BudgetExceeded
from digest.evidence import has_evidence
from digest.models import Check, Claim, StoryResult, Summary, Usage
from digest.prompts import PromptSpec
from digest.summarize import Summarizer, Task

VERIFIER = "verifier"
VERIFIER_HINT = "say only what the cited sentences say"


class Verifier:
    def __init__(self, summarizer: Summarizer, spec: PromptSpec) -> None:
        self.summarizer = summarizer
        self.spec = spec

    def verify(self, task: Task, result: StoryResult) -> StoryResult:
        summary = result.summary
        if result.status != "published" or summary is None or not has_evidence(summary):
            return result
        verdicts, usage = self._verdicts(task, summary)
        if verdicts is None:
            note = "verifier: no usable answer; the mechanical checks stand"
            return result.model_copy(update={"usage": result.usage + usage, "note": note})
        checked = _apply(summary, verdicts)
        failed = [c.checks[-1].detail for _, c in checked.claims() if c.checks[-1].status == "fail"]
        overall = Check(
            name=VERIFIER,
            status="fail" if failed else "ok",
            detail="; ".join(failed),
        )
        checks = [c for c in result.checks if c.name != VERIFIER] + [overall]
        base = result.model_copy(update={"usage": result.usage + usage, "reason": None})
        return self.summarizer.verdict(task, checked, checks, base)

    def _verdicts(self, task: Task, summary: Summary) -> tuple[list[str] | None, Usage]:
        summarizer = self.summarizer
        key = summarizer.key("verify", task.key, task.lang, self.spec)
        cached = summarizer.cache.get(key)
        if cached is not None and isinstance(cached.get("verdicts"), list):
            return [str(v) for v in cached["verdicts"]], Usage()
        source = summarizer.sources.of(task.article)
        claims = [
            {
                "text": claim.text,
                "cited": " ".join(
                    f"[{i}] {source.sentences[i - 1]}"
                    for i in claim.evidence
                    if 1 <= i <= len(source)
                ),
            }
            for _, claim in summary.claims()
        ]

        def complete(value: BaseModel) -> list[Check]:
            assert isinstance(value, VerdictsAnswer)
            numbers = {v.claim for v in value.verdicts}
            missing = [n for n in range(1, len(claims) + 1) if n not in numbers]
            if missing:
                detail = "no verdict for claims " + ", ".join(map(str, missing))
                return [Check(name="verdicts", status="fail", detail=detail)]
            return [Check(name="verdicts", status="ok")]

        try:
            answer = summarizer.ask(
                self.spec,
                self.spec.render(claims=claims, fence=task.article.id),
                complete,
            )
        except BudgetExceeded:
            return None, Usage()
        if answer.reason or not isinstance(answer.value, VerdictsAnswer):
            return None, answer.usage
        by_claim = {v.claim: v.verdict for v in answer.value.verdicts}
        verdicts: list[str] = [by_claim[n] for n in range(1, len(claims) + 1)]
        summarizer.cache.put(
            key, {"verdicts": verdicts}, kind="verify", article=task.article.id, lang=task.lang.code
        )
        return verdicts, answer.usage


def _apply(summary: Summary, verdicts: list[str]) -> Summary:
    def judged(label: str, claim: Claim, verdict: str) -> Claim:
        ok = verdict == "supported"
        detail = "" if ok else f"{label}: the verifier found it {verdict.replace('_', ' ')}"
        check = Check(name=VERIFIER, status="ok" if ok else "fail", detail=detail)
        return claim.model_copy(update={"checks": [*claim.checks, check]})

    labelled = summary.claims()
    updated = [judged(label, c, v) for (label, c), v in zip(labelled, verdicts, strict=False)]
    count = len(summary.sentences)
    return summary.model_copy(update={"sentences": updated[:count], "points": updated[count:]})
