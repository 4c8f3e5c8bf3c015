"""Pydantic models at the boundaries: what goes into the pipeline, what the LLM must
answer, and what comes out (the ``Digest`` that templates render and ``manifest.json`` holds)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

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


class Check(BaseModel):
    name: str
    status: CheckStatus
    detail: str = ""


class Claim(BaseModel):
    """One summary sentence or key point, the 1-based ids of the source sentences it rests
    on (none for answers without evidence), and what the claim checks found."""

    text: str
    evidence: list[int] = []
    checks: list[Check] = []


Origin = Literal["model", "translation", "extract", "source-language"]


# An answer is validated on the fields we need; keys a model adds of its own (hosted models
# add "confidence", "notes", "language") are ignored and recorded as the result's
# extra_keys. The schema sent to the endpoint still asks for no others.
ANSWER_CONFIG = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class Summary(BaseModel):
    """A story's summary in one language, claim by claim: the one shape the pipeline,
    templates and manifest use, whatever prompt produced it (see digest.answers)."""

    headline: str
    sentences: list[Claim] = Field(min_length=1)
    points: list[Claim] = []

    @model_validator(mode="before")
    @classmethod
    def _from_plain(cls, data: Any) -> Any:
        """Summaries cached or recorded before claims existed: text only, no evidence."""
        if isinstance(data, dict) and "sentences" not in data and "summary" in data:
            data = dict(data)
            data["sentences"] = [{"text": data.pop("summary")}]
            data["points"] = [{"text": p} for p in data.pop("key_points", [])]
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> str:
        return " ".join(c.text for c in self.sentences)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key_points(self) -> list[str]:
        return [c.text for c in self.points]

    def claims(self) -> list[tuple[str, Claim]]:
        """(label, claim) in reading order: "summary sentence 1" ..., "key point 1" ..."""
        return [(f"summary sentence {i}", c) for i, c in enumerate(self.sentences, 1)] + [
            (f"key point {i}", c) for i, c in enumerate(self.points, 1)
        ]

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


class StoryPart(BaseModel):
    """One source of a story summarised from several: its sentences as the prompt numbers
    them (``first`` is the global id of its first sentence)."""

    label: str  # "A", "B" ...
    outlet: str
    title: str
    url: str | None = None
    lang: str | None = None
    sentences: list[str]
    first: int


class StoryArticle(Article):
    """A story told by several articles (or continuing an earlier one), summarised as one:
    ``text`` is every part's sentences, one per line, in prompt order; ``previous`` is the
    earlier story's summary when this one is an update (the prompt leads with what is new)."""

    parts: list[StoryPart] = Field(min_length=1)
    previous: str | None = None
    previous_date: str | None = None


class StorySource(BaseModel):
    """One article of a story: listed for readers, recorded in stories.json."""

    label: str  # how the story prompt names it ("A"); its sentences are ``sentences``
    article_id: str
    outlet: str  # the site's host, else the feed's title, else the file's name
    title: str
    url: str | None = None
    path: str | None = None  # the file it was read from (a folder source)
    location: str  # where it was read: its URL, else its file, else its feed entry's title
    lang: str | None = None
    published: datetime | None = None
    origins: list[str] = []  # the feeds, sites and folders that carried it
    sentences: list[int] = []  # [first, last] global ids in the story prompt; [] not in it
    excerpt: str = ""  # the start of its text (stories.json only: later editions match on it)


class SourceValue(BaseModel):
    value: str
    outlets: list[str]


class SourceDisagreement(BaseModel):
    """A figure or a name the sources of one story give differently (ingest.disagreements)."""

    what: str  # dead, injured, missing, evacuated, arrested, flights, governor, mayor, coach
    kind: Literal["figure", "name"]
    values: list[SourceValue]


class StoryUpdate(BaseModel):
    """The earlier story (a previous edition under the same OUT) this one continues."""

    edition_date: date
    story_id: str
    title: str
    headlines: dict[str, str] = {}  # language code -> the earlier headline as published


class StoryInfo(BaseModel):
    """What the daily edition knows about a story beyond its text (stories.json, manifest)."""

    id: str  # the article id the edition summarised (a StoryArticle's for several sources)
    sources: list[StorySource]
    outlets: list[str] = Field(description="independent outlets: distinct hosts, else feeds")
    score: float = 0.0
    cohesion: float = 1.0
    prompt: str | None = None  # the story prompt, when summarised from several sources
    disagreements: list[SourceDisagreement] = []
    update: StoryUpdate | None = None


class ClusteringInfo(BaseModel):
    """How the day's articles were grouped into events."""

    method: str  # lexical, lexical+embeddings, embeddings
    embedding_model: str | None = None
    note: str = ""  # why embeddings were not used, when they were wanted
    articles: int = 0
    clusters: int = 0
    window_hours: float = 0.0
    candidate_pairs: int = 0
    confirmed: int = 0  # borderline merges put to the same-event prompt
    refused: int = 0  # of those, refused


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


EditorAction = Literal["approved", "rejected", "edited", "published", "corrected"]


class EditorMark(BaseModel):
    """What an editor did to one item (digest.review): shown in the manifest on the result
    as readers got it, and as a note under the story where readers should know."""

    action: EditorAction
    editor: str
    at: datetime
    reason: str = ""  # why (a rejection, a publication over failed checks)
    note: str = ""  # a correction's note for readers


class CarriedCorrection(BaseModel):
    """A correction to an earlier edition, repeated in a later one's "Corrections" section."""

    edition_date: date  # of the edition that was corrected
    article_id: str
    lang: str
    headline: str  # the corrected headline
    source_title: str
    url: str | None = None
    note: str
    corrected_at: datetime
    editor: str


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
    origin: Origin = "model"
    shown_lang: str | None = None  # origin "source-language": the language of the text shown
    dropped: list[str] = []  # key points dropped because their claims failed the checks
    replaced: list[Check] = []  # origin "extract": the checks the model's own answer failed
    names: dict[str, str] = {}  # a translation's declared renderings of the pivot's names
    note: str | None = None  # for the operator: why an extract or another language is shown
    editor: EditorMark | None = None  # set when an editor decided or corrected (digest.review)
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
    evidence: bool = Field(default=False, description="readers see each claim's source sentences")
    site_url: str | None = Field(
        default=None, description="where `digest archive` is published: feed links and ids"
    )
    edition_date: date
    generated_at: datetime
    languages: list[LanguageInfo]
    articles: list[Article]
    results: list[StoryResult]
    pivots: list[StoryResult] = []  # article-language summaries translated, not requested
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
    corrections: list[CarriedCorrection] = []  # carried from earlier editions (digest.corrections)
    stories: list[StoryInfo] = []  # daily: sources, disagreements, updates per story
    clustering: ClusteringInfo | None = None  # daily: how articles became stories

    def results_by_item(self) -> dict[tuple[str, str], StoryResult]:
        """(article id, language code) -> result; build once, look up many times."""
        return {(r.article_id, r.lang): r for r in self.results}

    def withheld_count(self) -> int:
        stories = sum(r.status == "withheld" for r in self.results)
        return stories + sum(b.status == "withheld" for b in self.briefs)

    def fallback_count(self) -> int:
        """Items shown in the article's language because their own did not pass."""
        return sum(r.origin == "source-language" for r in self.results)
