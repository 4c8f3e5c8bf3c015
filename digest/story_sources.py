"""A story from several sources, as the summary prompt and the claim checks see it.

The story prompt (``prompts/summarize-story``) shows each source fenced under its letter and
outlet, its sentences numbered on from the previous source's: source A has [1]..[7], B has
[8]..[12] and so on. Evidence ids are therefore plain numbers the schema can bound (1..N),
and each maps back to one (source, sentence): ``StorySources.where(8) == ("B", 1)``. The
claim checks run on the concatenated list as on one article; a claim citing a sentence in
another language than its own gets the checks that work across languages (numbers, names).

Sources are taken lead first, then one article per outlet not yet heard, then the rest, at
most ``MAX_SOURCES``; each keeps its first sentences within an equal share of the token
budget (at least ``MIN_SENTENCES``), so a long report cannot crowd out the others.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence

from digest.checks.claims import SourceSentences
from digest.ingest.cleaning import estimate_tokens
from digest.ingest.events import Event
from digest.ingest.sentences import split_sentences
from digest.langid import lang_key
from digest.models import Article, StoryArticle, StoryPart

MAX_SOURCES = 5
MIN_SENTENCES = 3


class StorySources(SourceSentences):
    """The concatenated sentences of a story's parts, numbered globally, with their parts."""

    def __init__(self, parts: Sequence[StoryPart], lang: str | None) -> None:
        self.parts = list(parts)
        self.langs = [part.lang for part in self.parts for _ in part.sentences]
        super().__init__([s for part in self.parts for s in part.sentences], lang)

    def numbered(self) -> str:
        blocks = []
        for part in self.parts:
            head = f"Source {part.label}: {part.outlet}" + (f" ({part.lang})" if part.lang else "")
            lines = [
                f"[{part.first + i}] {' '.join(s.split())}" for i, s in enumerate(part.sentences)
            ]
            blocks.append("\n".join([head, f"Title: {part.title}", *lines]))
        return "\n\n".join(blocks)

    def where(self, sentence_id: int) -> tuple[str, int] | None:
        """(source label, its own sentence number) of a global id."""
        for part in self.parts:
            if part.first <= sentence_id < part.first + len(part.sentences):
                return part.label, sentence_id - part.first + 1
        return None

    def in_language(self, lang: str | None) -> list[str]:
        """The sentences, those in another language blanked (ids stay as numbered): what
        an extract in ``lang`` may be made of."""
        want = lang_key(lang)
        return [
            s if lang_key(c or self.lang) == want else ""
            for s, c in zip(self.sentences, self.langs, strict=True)
        ]

    def same_language(self, evidence: Sequence[int], lang: str | None) -> bool:
        """Every cited sentence is in ``lang`` (unknown ones count as the story's)."""
        want = lang_key(lang)
        cited = [self.langs[i - 1] for i in evidence if 1 <= i <= len(self.langs)]
        return all(lang_key(c or self.lang) == want for c in cited)


def labels() -> list[str]:
    return list(string.ascii_uppercase)


def prompt_members(event: Event, names: dict[str, str]) -> list[Article]:
    """Lead first, then one article per outlet not yet heard, then the rest; at most
    ``MAX_SOURCES``. ``names`` maps article id -> outlet name."""
    first: list[Article] = []
    later: list[Article] = []
    heard: set[str] = set()
    for article in event.articles:
        outlet = names.get(article.id, article.source)
        (later if outlet in heard else first).append(article)
        heard.add(outlet)
    return (first + later)[:MAX_SOURCES]


def story_parts(event: Event, names: dict[str, str], max_tokens: int) -> list[StoryPart]:
    """The prompt's sources: ``names`` maps article id -> outlet name."""
    members = prompt_members(event, names)
    share = max(1, max_tokens // max(1, len(members)))
    parts: list[StoryPart] = []
    first = 1
    for label, article in zip(labels(), members, strict=False):
        sentences = [
            " ".join(s.split()) for s in split_sentences(article.text, article.source_lang)
        ]
        kept: list[str] = []
        used = 0
        for sentence in sentences:
            cost = estimate_tokens(sentence)
            if len(kept) >= MIN_SENTENCES and used + cost > share:
                break
            kept.append(sentence)
            used += cost
        if not kept:
            continue
        parts.append(
            StoryPart(
                label=label,
                outlet=names.get(article.id, article.source),
                title=article.title,
                url=article.url,
                lang=article.source_lang,
                sentences=kept,
                first=first,
            )
        )
        first += len(kept)
    return parts


def story_article(
    event: Event,
    names: dict[str, str],
    max_tokens: int,
    *,
    previous: str | None = None,
    previous_date: str | None = None,
) -> StoryArticle:
    """The one article the edition summarises for ``event`` (see the module docstring).
    Its id hashes the articles in the prompt and the earlier summary: what shapes the answer."""
    parts = story_parts(event, names, max_tokens)
    lead = event.lead
    members = [a.id for a in prompt_members(event, names)]
    seed = "\n".join(["story", *members, previous or ""])
    return StoryArticle(
        id=hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16],
        title=lead.title,
        text="\n".join(s for part in parts for s in part.sentences),
        url=lead.url,
        published=event.newest or lead.published,
        source="story: " + ", ".join(dict.fromkeys(p.outlet for p in parts)),
        source_lang=event.lang,
        section=event.section,
        parts=parts,
        previous=previous,
        previous_date=previous_date,
    )
