"""Claims against their evidence: the bridge between a summary and the claim checks.

Every article is split into numbered sentences once per run (``SourceBook``); the prompt
shows them, the model cites them, and ``evaluate`` runs the claim checks
(digest.checks.claims) on every summary sentence and key point, and on the headline against
the union of their evidence. ``salvage`` is the rule for a summary that still fails after
its re-asks: a key point that fails is dropped if three key points remain; anything else
failing withholds the story.
"""

from __future__ import annotations

import threading

from digest.checks.claims import CLAIM_CHECKS, SourceSentences, check_claim, check_headline
from digest.langid import lang_key
from digest.models import Article, Check, Claim, StoryArticle, Summary

MIN_POINTS = 3
CLAIM_CHECK_NAMES = frozenset(spec.name for spec in CLAIM_CHECKS)


class SourceBook:
    """Each article's numbered sentences, split once and shared by every language's task."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, SourceSentences] = {}

    def of(self, article: Article) -> SourceSentences:
        with self._lock:
            found = self._sources.get(article.id)
            if found is None:
                found = _split(article)
                self._sources[article.id] = found
            return found


def _split(article: Article) -> SourceSentences:
    if isinstance(article, StoryArticle):  # several sources, numbered on (digest.story_sources)
        from digest.story_sources import StorySources

        return StorySources(article.parts, article.source_lang)
    return SourceSentences.from_text(article.text, article.source_lang)


def _same_language(source: SourceSentences, evidence: list[int], lang: str | None) -> bool:
    """Whether a claim in ``lang`` citing ``evidence`` gets the same-language checks: the
    article is in ``lang``; for a story of several sources, every cited sentence is."""
    same_for = getattr(source, "same_language", None)
    if callable(same_for):
        return bool(same_for(evidence, lang))
    return lang_key(lang) == source.lang if source.lang else True


def has_evidence(summary: Summary) -> bool:
    return any(claim.evidence for _, claim in summary.claims())


def evaluate(
    summary: Summary, source: SourceSentences, *, lang: str | None, headline: bool = True
) -> tuple[Summary, list[Check]]:
    """The summary with each claim's checks filled in, and one check per claim-check name
    for the whole answer (failed if any claim failed it; the details name the claims).
    ``headline=False``: the headline is the article's own title (an extract's), not a claim."""
    claims: dict[str, list[Claim]] = {"sentences": [], "points": []}
    for label, claim in summary.claims():
        checks = check_claim(
            claim.text,
            claim.evidence,
            source,
            label=label,
            claim_lang=lang,
            same_language=_same_language(source, claim.evidence, lang),
        )
        group = "sentences" if label.startswith("summary") else "points"
        # Verdicts from elsewhere (the verifier pass) stay with the claim.
        kept = [c for c in claim.checks if c.name not in CLAIM_CHECK_NAMES]
        claims[group].append(claim.model_copy(update={"checks": checks + kept}))
    cited = [c.evidence for _, c in summary.claims()]
    title = check_headline(
        summary.headline,
        cited,
        source,
        claim_lang=lang,
        same_language=_same_language(source, [i for ids in cited for i in ids], lang),
    )
    annotated = summary.model_copy(
        update={"sentences": claims["sentences"], "points": claims["points"]}
    )
    every = [c for _, claim in annotated.claims() for c in claim.checks]
    every += title if headline else []
    return annotated, combine(every)


def combine(checks: list[Check]) -> list[Check]:
    """Per check name: fail if any failed, else unverified if any was, else ok."""
    combined: list[Check] = []
    for spec in CLAIM_CHECKS:
        mine = [c for c in checks if c.name == spec.name]
        if not mine:
            continue
        failed = [c.detail for c in mine if c.status == "fail"]
        if failed:
            combined.append(Check(name=spec.name, status="fail", detail="; ".join(failed)))
        elif any(c.status == "unverified" for c in mine):
            details = [c.detail for c in mine if c.status == "unverified" and c.detail]
            detail = "; ".join(dict.fromkeys(details))
            combined.append(Check(name=spec.name, status="unverified", detail=detail))
        else:
            combined.append(Check(name=spec.name, status="ok"))
    return combined


def claim_failed(claim: Claim) -> bool:
    return any(c.status == "fail" for c in claim.checks)


def salvage(summary: Summary) -> tuple[Summary, list[str]] | None:
    """Drop the key points whose claims failed when that leaves at least three; None when
    a summary sentence failed or too few key points would remain."""
    if any(claim_failed(c) for c in summary.sentences):
        return None
    kept = [c for c in summary.points if not claim_failed(c)]
    dropped = [c.text for c in summary.points if claim_failed(c)]
    if not dropped or len(kept) < MIN_POINTS:
        return None
    return summary.model_copy(update={"points": kept}), dropped
