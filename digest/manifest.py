"""manifest.json: the edition's record, in one model. The edition writes it once, at the
end, after every other file; the preview, mail and every later reader load it from here.

It holds what was asked (languages, prompt, model, endpoint), what came back (every result
with its checks and usage, never the text of a withheld answer), the articles without their
full text, and the titles as rendered per language. Never a key.

When an editor is in the loop (digest.review) the results are as readers got them: an item
an editor decided on or corrected carries its ``editor`` mark, ``review`` repeats
``review.json`` as of this rendering (with how many received a corrected text, never their
addresses), and ``corrections`` lists the corrections to earlier
editions that this one carries. The model's own answers stay in ``desk.json`` (digest.desk).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from digest.errors import InputError, file_error
from digest.fsutil import write_json_atomic
from digest.models import (
    Article,
    BriefResult,
    CarriedCorrection,
    ClusteringInfo,
    Digest,
    LanguageInfo,
    StoryInfo,
    StoryResult,
    TrimNote,
    Usage,
)
from digest.review import ReviewRecord

MANIFEST = "manifest.json"
FORMATS = ("html", "md", "txt")
# A manifest is data from disk: a code that is not a plain BCP-47 tag never names a file.
_SAFE_CODE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


class ArticleRef(BaseModel):
    """An article as the manifest records it (no full text: the manifest stays small)."""

    id: str
    title: str
    url: str | None
    source: str
    source_lang: str | None
    section: str | None
    published: datetime | None
    chars: int
    trimmed: TrimNote | None


class Manifest(BaseModel):
    title: str = Field(description="the edition's title as configured, else the English default")
    titles: dict[str, str] = Field(default={}, description="language code -> title as rendered")
    edition_date: date
    generated_at: datetime
    languages: list[LanguageInfo] = Field(min_length=1)
    articles: list[ArticleRef] = []
    results: list[StoryResult] = []
    pivots: list[StoryResult] = []
    briefs: list[BriefResult] = []
    prompt: str
    model: str
    endpoint: str
    structured_mode: str = ""
    structured_mode_source: str = ""
    usage: Usage = Usage()
    cache_hits: int = 0
    timings: dict[str, float] = {}
    warnings: list[str] = []
    colophon: bool = False
    review: ReviewRecord | None = None
    corrections: list[CarriedCorrection] = []
    # daily: each story's sources, disagreements and the story it updates (stories.json has
    # the same and more), and how articles were grouped into stories.
    stories: list[StoryInfo] = []
    clustering: ClusteringInfo | None = None

    @classmethod
    def of(
        cls,
        digest: Digest,
        *,
        title: str,
        titles: dict[str, str],
        review: ReviewRecord | None = None,
    ) -> Manifest:
        """The record of an edition. A withheld answer's text is what the checks refused:
        it is published nowhere, the manifest included (the cache keeps it, to re-check)."""
        results = [
            r if r.status == "published" else r.model_copy(update={"summary": None})
            for r in digest.results
        ]
        briefs = [
            b if b.status == "published" else b.model_copy(update={"brief": None})
            for b in digest.briefs
        ]
        return cls(
            title=title,
            titles=titles,
            edition_date=digest.edition_date,
            generated_at=digest.generated_at,
            languages=digest.languages,
            articles=[
                ArticleRef(
                    id=a.id,
                    title=a.title,
                    url=a.url,
                    source=a.source,
                    source_lang=a.source_lang,
                    section=a.section,
                    published=a.published,
                    chars=len(a.text),
                    trimmed=a.trimmed,
                )
                for a in digest.articles
            ],
            results=results,
            pivots=digest.pivots,
            briefs=briefs,
            prompt=digest.prompt,
            model=digest.model,
            endpoint=digest.endpoint,
            structured_mode=digest.structured_mode,
            structured_mode_source=digest.structured_mode_source,
            usage=digest.usage,
            cache_hits=digest.cache_hits,
            timings=digest.timings,
            warnings=digest.warnings,
            colophon=digest.colophon,
            review=review.public() if review is not None and not review.empty else None,
            corrections=digest.corrections,
            stories=[_without_excerpts(story) for story in digest.stories],
            clustering=digest.clustering,
        )

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        """The manifest of a rendered edition folder, or one InputError line."""
        path = folder / MANIFEST
        if not path.is_file():
            raise InputError(f"no digest in {folder}; run `digest run ... --out {folder}` first")
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise file_error(path, exc) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"cannot read {path}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "manifest"
            raise InputError(f"{path} is not a digest manifest (bad {where})") from None

    def write(self, folder: Path) -> Path:
        return write_json_atomic(folder / MANIFEST, self.model_dump(mode="json"))

    def as_digest(
        self,
        texts: Mapping[str, str] | None = None,
        results: list[StoryResult] | None = None,
    ) -> Digest:
        """The edition back as a Digest. Given the article ``texts`` and the model's own
        ``results`` (desk.json), it is the edition as written, to re-render after an editor's
        decision; without them, what pages built later from the record need (archive,
        feeds): articles without text, only what was published, no colophon."""
        whole = results is not None
        return Digest(
            title=self.title,
            titles=self.titles,
            colophon=self.colophon and whole,
            edition_date=self.edition_date,
            generated_at=self.generated_at,
            languages=self.languages,
            articles=[
                Article(
                    id=a.id,
                    title=a.title,
                    text=(texts or {}).get(a.id, ""),
                    url=a.url,
                    published=a.published,
                    source=a.source,
                    source_lang=a.source_lang,
                    section=a.section,
                    trimmed=a.trimmed,
                )
                for a in self.articles
            ],
            results=[r for r in self.results if r.status == "published"]
            if results is None
            else results,
            briefs=self.briefs if whole else [b for b in self.briefs if b.status == "published"],
            prompt=self.prompt,
            model=self.model,
            endpoint=self.endpoint,
            structured_mode=self.structured_mode,
            usage=self.usage,
            cache_hits=self.cache_hits,
            timings=self.timings,
            warnings=self.warnings if whole else [],
            corrections=self.corrections if whole else [],
            stories=self.stories,
            clustering=self.clustering,
        )

    @property
    def key(self) -> str:
        """Identifies the edition (the send log's key): a re-render of the same day is the same."""
        return f"{self.edition_date.isoformat()} {self.title}"

    def codes(self) -> list[str]:
        """Language codes safe to name files with (every code this program writes)."""
        return [lang.code for lang in self.languages if _SAFE_CODE.match(lang.code)]

    def title_for(self, code: str) -> str:
        return self.titles.get(code) or self.title

    @staticmethod
    def file_name(code: str, kind: str) -> str:
        """``digest.<code>.<kind>``: the one place the output file names are spelled."""
        return f"digest.{code}.{kind}"


def _without_excerpts(story: StoryInfo) -> StoryInfo:
    """The manifest stays small: source excerpts live in stories.json only."""
    sources = [s.model_copy(update={"excerpt": ""}) for s in story.sources]
    return story.model_copy(update={"sources": sources})
