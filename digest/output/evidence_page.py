"""The preview's evidence page: for one language, every published claim with the source
sentences it cites highlighted in their context (revealed on click, no script), and the
result of each check on it.

The article texts come from the edition's desk file (desk.json, written by the edition for
the editor; never mailed or served); split into sentences the same way the summarizer
numbered them, so the ids in the manifest point at the same sentences.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from digest.checks.text import shorten
from digest.desk import DESK_FILE
from digest.ingest.sentences import split_sentences
from digest.manifest import Manifest
from digest.models import Check, Claim
from digest.output.text import display_line

CONTEXT = 1  # sentences shown before and after a cited one


@dataclass(frozen=True)
class SentenceView:
    number: int
    text: str
    cited: bool


@dataclass(frozen=True)
class ClaimRow:
    label: str  # "summary sentence 1", "key point 2"
    text: str
    evidence: str  # "[3, 4]"
    status: str  # "ok", "unverified" or "fail": the worst of its checks
    checks: list[Check]
    context: list[SentenceView | None]  # None: a gap between shown sentences


@dataclass(frozen=True)
class StoryRow:
    title: str
    url: str | None
    origin: str
    note: str
    claims: list[ClaimRow]


@dataclass(frozen=True)
class EvidenceView:
    title: str
    lang: str
    stories: list[StoryRow]
    texts_kept: bool  # the desk file holds the article texts


def article_texts(folder: Path) -> dict[str, str]:
    """Article id -> the text the model was given, from the desk file (empty if absent)."""
    try:
        data = json.loads((folder / DESK_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    articles = data.get("articles") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in articles.items()} if isinstance(articles, dict) else {}


def evidence_view(folder: Path, manifest: Manifest, lang: str) -> EvidenceView:
    texts = article_texts(folder)
    refs = {a.id: a for a in manifest.articles}
    stories: list[StoryRow] = []
    for result in manifest.results:
        if result.lang != lang or result.status != "published" or result.summary is None:
            continue
        ref = refs.get(result.article_id)
        text = texts.get(result.article_id, "")
        sentences = split_sentences(text, ref.source_lang if ref else None) if text else []
        claims = [_claim(label, claim, sentences) for label, claim in result.summary.claims()]
        stories.append(
            StoryRow(
                title=display_line(ref.title if ref else result.article_id),
                url=ref.url if ref else None,
                origin=result.origin,
                note=display_line(result.note),
                claims=claims,
            )
        )
    return EvidenceView(
        title=display_line(manifest.title_for(lang)),
        lang=lang,
        stories=stories,
        texts_kept=bool(texts),
    )


def _claim(label: str, claim: Claim, sentences: list[str]) -> ClaimRow:
    statuses = {c.status for c in claim.checks}
    status = "fail" if "fail" in statuses else "unverified" if "unverified" in statuses else "ok"
    shown = sorted(
        {
            i
            for cited in claim.evidence
            for i in range(cited - CONTEXT, cited + CONTEXT + 1)
            if 1 <= i <= len(sentences)
        }
    )
    context: list[SentenceView | None] = []
    for i in shown:
        if context and context[-1] is not None and context[-1].number != i - 1:
            context.append(None)
        context.append(SentenceView(i, shorten(sentences[i - 1], 600), i in claim.evidence))
    return ClaimRow(
        label=label,
        text=display_line(claim.text),
        evidence=", ".join(map(str, claim.evidence)) or "none",
        status=status,
        checks=[
            Check(name=c.name, status=c.status, detail=display_line(c.detail)) for c in claim.checks
        ],
        context=context,
    )
