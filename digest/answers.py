"""What the LLM must answer, one model per prompt output schema (``output:`` in a prompt's
front matter). Each validates an answer and turns it into the pipeline's own shapes
(``digest.models``). Length caps reach llama.cpp's grammar too, which keeps tiny models from
rambling; evidence ids are bounded per article (``EvidencedSummaryAnswer.bounded``), so the
grammar cannot cite a sentence that does not exist.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, create_model, field_validator

from digest.models import ANSWER_CONFIG, Brief, Claim, Summary

Headline = Annotated[str, Field(min_length=3, max_length=160)]
Sentence = Annotated[str, Field(min_length=2, max_length=400)]
Point = Annotated[str, Field(min_length=2, max_length=300)]
MAX_EVIDENCE = 4  # ids per claim: a claim resting on more is not one claim


def _not_blank(texts: list[str]) -> list[str]:
    cleaned = [t.strip() for t in texts]
    if any(not t for t in cleaned):
        raise ValueError("no item may be empty")
    return cleaned


class SummaryAnswer(BaseModel):
    """``summary``: headline, a 2-3 sentence summary and 3-5 key points, text only."""

    model_config = ANSWER_CONFIG

    headline: Headline
    summary: str = Field(min_length=10, max_length=900)
    key_points: list[Point] = Field(min_length=3, max_length=5)

    _points = field_validator("key_points")(_not_blank)

    def to_summary(self) -> Summary:
        return Summary(
            headline=self.headline,
            sentences=[Claim(text=self.summary)],
            points=[Claim(text=p) for p in self.key_points],
        )


class EvidencedClaim(BaseModel):
    model_config = ANSWER_CONFIG

    text: Sentence
    evidence: list[int] = Field(min_length=1, max_length=MAX_EVIDENCE)


class EvidencedSummaryAnswer(BaseModel):
    """``summary_evidence``: every summary sentence and key point with the ids of the
    numbered source sentences that support it."""

    model_config = ANSWER_CONFIG

    headline: Headline
    summary: list[EvidencedClaim] = Field(min_length=1, max_length=3)
    key_points: list[EvidencedClaim] = Field(min_length=3, max_length=5)

    def to_summary(self) -> Summary:
        return Summary(
            headline=self.headline.strip(),
            sentences=[Claim(text=c.text.strip(), evidence=c.evidence) for c in self.summary],
            points=[Claim(text=c.text.strip(), evidence=c.evidence) for c in self.key_points],
        )

    @staticmethod
    @lru_cache(maxsize=256)
    def bounded(sentences: int) -> type[EvidencedSummaryAnswer]:
        """The same answer with ids limited to 1..sentences (schema and validation). An enum,
        not minimum/maximum: llama.cpp's grammar converter ignores the latter."""
        sentence_id = Literal[tuple(range(1, max(1, sentences) + 1))]  # type: ignore[valid-type]
        claim = create_model(
            "EvidencedClaim",
            __base__=EvidencedClaim,
            evidence=(list[sentence_id], Field(min_length=1, max_length=MAX_EVIDENCE)),  # type: ignore[valid-type]
        )
        return create_model(
            "EvidencedSummaryAnswer",
            __base__=EvidencedSummaryAnswer,
            summary=(list[claim], Field(min_length=1, max_length=3)),  # type: ignore[valid-type]
            key_points=(list[claim], Field(min_length=3, max_length=5)),  # type: ignore[valid-type]
        )


class TranslationAnswer(BaseModel):
    """``translation``: a verified summary in another language, field for field, and how
    each name of the original was rendered ({"Turkey": "Türkei"})."""

    model_config = ANSWER_CONFIG

    headline: Headline
    summary: list[Sentence] = Field(min_length=1, max_length=3)
    key_points: list[Point] = Field(min_length=1, max_length=5)
    names: dict[str, str] = {}

    _texts = field_validator("summary", "key_points")(_not_blank)

    def to_summary(self, pivot: Summary) -> Summary:
        """Evidence stays the pivot's: a translation rests on the same source sentences."""
        return Summary(
            headline=self.headline.strip(),
            sentences=[
                Claim(text=text, evidence=claim.evidence)
                for text, claim in zip(self.summary, pivot.sentences, strict=False)
            ],
            points=[
                Claim(text=text, evidence=claim.evidence)
                for text, claim in zip(self.key_points, pivot.points, strict=False)
            ],
        )


Verdict = Literal["supported", "contradicted", "not_found"]


class ClaimVerdict(BaseModel):
    model_config = ANSWER_CONFIG

    claim: int = Field(ge=1, description="the claim's number in the list given")
    verdict: Verdict


class VerdictsAnswer(BaseModel):
    """``verdicts``: the verifier pass, one verdict per claim."""

    model_config = ANSWER_CONFIG

    verdicts: list[ClaimVerdict] = Field(min_length=1, max_length=12)


class SameEventAnswer(BaseModel):
    """``same_event``: do two articles report the same event (clustering's confirm hook)?"""

    same_event: bool


class SectionAnswer(BaseModel):
    """``section``: one section of the edition's list, or "none" (daily ``classify``)."""

    section: str = Field(min_length=1, max_length=60)


SCHEMAS: dict[str, type[BaseModel]] = {
    "summary": SummaryAnswer,
    "summary_evidence": EvidencedSummaryAnswer,
    "translation": TranslationAnswer,
    "verdicts": VerdictsAnswer,
    "brief": Brief,
    "same_event": SameEventAnswer,
    "section": SectionAnswer,
}
