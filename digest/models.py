"""Pydantic models at the boundaries: what goes into the pipeline, what the LLM must
answer, and what comes out (the ``Digest`` that templates render and ``manifest.json`` holds)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CheckStatus = Literal["ok", "fail", "unverified"]


def safe_url(url: str | None) -> str | None:
    """Links are untrusted: only absolute http(s) URLs survive, anything else is dropped."""
    if not url:
        return None
    url = url.strip()
    lowered = url.lower()
    if not (lowered.startswith("http://") or lowered.startswith("https://")):
        return None
    if any(ch in url for ch in "\x00\r\n\t <>\"'`"):
        return None
    return url


class TrimNote(BaseModel):
    """Recorded when an article is longer than the token budget and was cut at a sentence."""

    original_chars: int
    kept_chars: int
    strategy: str


class Article(BaseModel):
    id: str = Field(description="Stable id: first 16 hex chars of sha256 of the cleaned text")
    title: str
    text: str
    url: str | None = None
    published: datetime | None = None
    source: str = Field(description="Where it came from: a path, a URL or 'stdin'")
    source_lang: str | None = None
    section: str | None = None
    trimmed: TrimNote | None = None

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        return safe_url(value)


FieldKind = Literal["headline", "summary", "key_point", "overview"]


class AnswerField(BaseModel):
    """One named part of an answer, as the checks address it ("key point 2")."""

    name: str
    kind: FieldKind
    text: str


# An answer is validated on the fields we need; keys a model adds of its own (hosted models
# add "confidence", "notes", "language") are ignored and recorded as the result's
# extra_keys. The schema sent to the endpoint still asks for no others.
ANSWER_CONFIG = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class Summary(BaseModel):
    """What the LLM must answer for one article in one language (prompt schema ``summary``)."""

    model_config = ANSWER_CONFIG

    # Length caps also reach llama.cpp's grammar, which keeps tiny models from rambling.
    headline: str = Field(min_length=3, max_length=160)
    summary: str = Field(min_length=10, max_length=900)
    key_points: list[Annotated[str, Field(min_length=2, max_length=300)]] = Field(
        min_length=3, max_length=5
    )

    @field_validator("key_points")
    @classmethod
    def _points_not_blank(cls, points: list[str]) -> list[str]:
        cleaned = [p.strip() for p in points]
        if any(not p for p in cleaned):
            raise ValueError("key points must not be empty")
        return cleaned

    def fields(self) -> list[AnswerField]:
        return [
            AnswerField(name="headline", kind="headline", text=self.headline),
            AnswerField(name="summary", kind="summary", text=self.summary),
            *(
                AnswerField(name=f"key point {i}", kind="key_point", text=point)
                for i, point in enumerate(self.key_points, 1)
            ),
        ]


class Brief(BaseModel):
    """The 'in brief' overview of a whole edition (prompt schema ``brief``)."""

    model_config = ANSWER_CONFIG

    overview: str = Field(min_length=10, max_length=900)

    def fields(self) -> list[AnswerField]:
        return [AnswerField(name="overview", kind="overview", text=self.overview)]


class Check(BaseModel):
    name: str
    status: CheckStatus
    detail: str = ""


class Usage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None

    def __add__(self, other: Usage) -> Usage:
        cost = (
            None
            if self.cost is None and other.cost is None
            else (self.cost or 0) + (other.cost or 0)
        )
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost=cost,
        )


class StoryResult(BaseModel):
    """One article in one language: the gated summary, or why it was withheld."""

    article_id: str
    lang: str
    status: Literal["published", "withheld"]
    summary: Summary | None = None
    checks: list[Check] = []
    reason: str | None = None
    attempts: int = 0
    usage: Usage = Usage()
    cached: bool = False
    seconds: float = 0.0
    extra_keys: list[str] = Field(default=[], description="answer keys the schema does not name")


class BriefResult(BaseModel):
    lang: str
    status: Literal["published", "withheld"]
    brief: Brief | None = None
    checks: list[Check] = []
    reason: str | None = None
    usage: Usage = Usage()
    cached: bool = False
    extra_keys: list[str] = []


class LanguageInfo(BaseModel):
    code: str = Field(description="BCP-47 code as the user gave it, normalised (pt-BR)")
    base: str = Field(description="Primary subtag (pt), what language identification reports")
    locale: str = Field(description="Babel locale id (pt_BR)")
    english_name: str
    native_name: str
    rtl: bool


class Digest(BaseModel):
    """One edition in memory: everything the templates need (manifest.json records it,
    without the article texts: see digest.manifest)."""

    title: str | None = Field(
        default=None, description="as configured; None: the translated default title"
    )
    titles: dict[str, str] = Field(default={}, description="per-language titles from config")
    colophon: bool = Field(default=False, description="show model, prompt and tokens to readers")
    edition_date: date
    generated_at: datetime
    languages: list[LanguageInfo]
    articles: list[Article]
    results: list[StoryResult]
    briefs: list[BriefResult] = []
    prompt: str = Field(description="name@version of the summary prompt")
    model: str
    endpoint: str = Field(description="Endpoint host (never a key), or 'local:<model file>'")
    structured_mode: str = ""
    structured_mode_source: str = Field(default="", description="probed, remembered or fixed")
    usage: Usage = Usage()
    cache_hits: int = 0
    timings: dict[str, float] = {}
    warnings: list[str] = []
    batch_id: str | None = None  # the Batch API batch that answered part of the edition

    def results_by_item(self) -> dict[tuple[str, str], StoryResult]:
        """(article id, language code) -> result; build once, look up many times."""
        return {(r.article_id, r.lang): r for r in self.results}

    def withheld_count(self) -> int:
        stories = sum(r.status == "withheld" for r in self.results)
        return stories + sum(b.status == "withheld" for b in self.briefs)
