"""Group the day's articles into events across outlets and languages (offline by default).

Pure functions of their input: no network, no model, no global state. ``cluster_articles``
takes ``Article`` models and returns a ``ClusterResult``; the caller decides what a cluster
becomes in the digest (and may pass an embedding function it built from the endpoint).

How two articles are compared (each kind of evidence is divided by its threshold, so 1.0
means "just enough" whatever the kind):

- **lexical** (same language): the mean of two ratios, the cosine of sublinear TF-IDF
  vectors over folded words and figures / ``LEXICAL_THRESHOLD`` and the anchor cosine
  (below, within the language) / ``ANCHOR_THRESHOLD``. IDF is computed within the
  language, so words every article uses weigh nothing. Same-event reports in different
  words still share names, places, figures and topic words; look-alikes (another match
  the same evening, another fire in the same city) share the topic words but few names
  and figures, which is why the anchors get half the say.
- **anchors** (any two languages): cosine of IDF-weighted sets of names (capitalised
  words, accent-folded and transliterated with ``anyascii``, cut to a 6-letter stem so
  ``Malatya'nın`` = ``Malatya``; a consonant skeleton for non-Latin scripts, ``ملاطية`` =
  ``Malatya``) and figures (``8.000`` = ``8,000`` = ``8 bin``). ``ANCHOR_THRESHOLD``; a pair
  of languages sharing fewer than two such keys is no evidence at all (one shared "20" is a
  coincidence: ``event_index.MIN_SHARED_ANCHORS``).
- **embeddings** (optional): cosine of the injected embedding vectors.
  ``EMBEDDING_THRESHOLD`` (model dependent, so it is a parameter).

Candidate pairs come from sparse products over an inverted index restricted to rare
features (document frequency <= ``rare_df``), plus random-hyperplane LSH buckets for
embeddings, so the work grows with the number of articles, not its square.

Clusters: pairs in decreasing evidence are merged with union-find, but only when the two
groups are linked on average (``LINKAGE``: mean over all cross pairs of min(evidence, 1))
and the merged group still fits in the time window. One strong link between two otherwise
unrelated groups does not chain them together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from digest.ingest.event_features import features
from digest.ingest.event_index import LexicalIndex, lsh_candidates
from digest.models import Article

MethodName = Literal["lexical", "embeddings", "lexical+embeddings"]
Embedder = Callable[[list[str]], list[list[float]]]

# Both thresholds sit in the middle of the range where the labelled set (bench/clusters.py)
# scores F1 1.0: from 0.19 / 0.24 (below, two football matches of one evening merge) to
# 0.38 / 0.48 (above, reports of one event start to split); the sweep is in RESULTS.md.
LEXICAL_THRESHOLD = 0.28
ANCHOR_THRESHOLD = 0.35
EMBEDDING_THRESHOLD = 0.80
LINKAGE = 0.5
EMBED_CHARS = 2000  # what an embedding sees: title + the start of the text


class Tuning(BaseModel):
    """The few numbers the method has (see the module docstring); defaults are the tuned ones."""

    lexical_threshold: float = LEXICAL_THRESHOLD
    anchor_threshold: float = ANCHOR_THRESHOLD
    embedding_threshold: float = EMBEDDING_THRESHOLD
    linkage: float = LINKAGE
    rare_df: int | None = Field(
        default=None,
        description="features in more articles than this make no candidates "
        "(None: max(50, articles / 100))",
    )


class ClusterParams(Tuning):
    window_hours: float
    rare_df: int


class Merge(BaseModel):
    """The link that joined two groups: its strongest pair and the groups' average link."""

    a: str
    b: str
    kind: Literal["lexical", "anchors", "embeddings", "lexical+embeddings"]
    evidence: float = Field(description="pair score / its threshold (>= 1 to merge)")
    linkage: float = Field(description="mean of min(evidence, 1) over all cross pairs")
    confirmed: bool | None = Field(default=None, description="answer of the confirm hook")


class Cluster(BaseModel):
    article_ids: list[str]
    languages: list[str]
    cohesion: float = Field(description="mean of min(evidence, 1) over all pairs (1 alone)")
    merges: list[Merge] = []


class ClusterResult(BaseModel):
    method: MethodName
    clusters: list[Cluster] = Field(description="largest first, then input order")
    params: ClusterParams
    candidate_pairs: int
    rejected_merges: int = Field(description="qualifying pairs refused by linkage or window")

    def cluster_of(self) -> dict[str, int]:
        return {aid: n for n, c in enumerate(self.clusters) for aid in c.article_ids}


def _hours(when: datetime | None) -> float:
    if when is None:
        return math.nan
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() / 3600.0


def cluster_articles(
    articles: list[Article],
    *,
    window_hours: float = 48,
    embed: Embedder | None = None,
    method: MethodName | None = None,
    confirm: Callable[[Article, Article], bool] | None = None,
    tuning: Tuning | None = None,
) -> ClusterResult:
    """Group ``articles`` into events (see the module docstring for the rules).

    ``method``: None picks ``lexical+embeddings`` when ``embed`` is given, else
    ``lexical``; ``embeddings`` uses the vectors alone (``embed`` required). ``embed``
    maps texts to vectors (one call, all texts; batching is the caller's business).
    ``confirm`` is asked about borderline merges (evidence under 1.25) and may refuse
    them, e.g. through the versioned ``same-event`` prompt. Articles dated further apart
    than ``window_hours`` never share a cluster; undated ones may join any.
    """
    import numpy as np

    chosen: MethodName = method or ("lexical+embeddings" if embed else "lexical")
    if chosen != "lexical" and embed is None:
        raise ValueError(f"method {chosen!r} needs an embed function")
    n = len(articles)
    tuning = tuning or Tuning()
    params = ClusterParams(
        **tuning.model_dump(exclude={"rare_df"}),
        window_hours=window_hours,
        rare_df=tuning.rare_df if tuning.rare_df is not None else max(50, n // 100),
    )
    if n < 2:
        clusters = [
            Cluster(article_ids=[a.id], languages=_langs([a]), cohesion=1.0) for a in articles
        ]
        return ClusterResult(
            method=chosen, clusters=clusters, params=params, candidate_pairs=0, rejected_merges=0
        )

    feats = [features(a) for a in articles]
    lexical = LexicalIndex(feats, params.rare_df) if chosen != "embeddings" else None
    vectors = None
    if embed is not None and chosen != "lexical":
        texts = [f"{a.title}\n{a.text}"[:EMBED_CHARS] for a in articles]
        raw = np.asarray(embed(texts), dtype=np.float64)
        if raw.shape[0] != n:
            raise ValueError(f"embed returned {raw.shape[0]} vectors for {n} texts")
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        vectors = raw / np.where(norms == 0, 1.0, norms)

    parts_r: list[Any] = []
    parts_c: list[Any] = []
    if lexical is not None:
        r, c = lexical.candidates()
        parts_r.append(r)
        parts_c.append(c)
    if vectors is not None:
        r, c = lsh_candidates(vectors)
        parts_r.append(r)
        parts_c.append(c)
    rows = np.concatenate(parts_r)
    cols = np.concatenate(parts_c)
    if rows.size:
        unique = np.unique(rows * n + cols)
        rows, cols = unique // n, unique % n
    hours = np.array([_hours(a.published) for a in articles])
    gap = np.abs(hours[rows] - hours[cols])
    inside = ~(gap > window_hours)  # NaN (undated) compares False: kept
    rows, cols = rows[inside], cols[inside]

    if chosen == "embeddings":
        assert vectors is not None
        evidence = np.einsum("ij,ij->i", vectors[rows], vectors[cols]) / params.embedding_threshold
    else:
        assert lexical is not None
        evidence = lexical.evidence(
            rows,
            cols,
            lexical_threshold=params.lexical_threshold,
            anchor_threshold=params.anchor_threshold,
        )
        if vectors is not None:
            cos = np.einsum("ij,ij->i", vectors[rows], vectors[cols])
            evidence = (evidence + cos / params.embedding_threshold) / 2
    result = _link(articles, rows, cols, evidence, hours, params, confirm, chosen)
    return ClusterResult(
        method=chosen,
        clusters=result[0],
        params=params,
        candidate_pairs=int(rows.size),
        rejected_merges=result[1],
    )


def _langs(members: Iterable[Article]) -> list[str]:
    return sorted({a.source_lang or "und" for a in members})


BORDERLINE = 1.25  # merges with evidence under this are put to the confirm hook


def _link(
    articles: list[Article],
    rows: Any,
    cols: Any,
    evidence: Any,
    hours: Any,
    params: ClusterParams,
    confirm: Callable[[Article, Article], bool] | None,
    method: MethodName,
) -> tuple[list[Cluster], int]:
    """Union-find in decreasing evidence, each union checked by average linkage and the
    time window; returns the clusters (largest first, then by first member) and how many
    qualifying pairs were refused."""
    import numpy as np

    n = len(articles)
    capped = {
        (int(r), int(c)): min(float(e), 1.0) for r, c, e in zip(rows, cols, evidence, strict=True)
    }
    parent = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    merges: dict[int, list[Merge]] = {i: [] for i in range(n)}
    span: dict[int, tuple[float, float]] = {
        i: (hours[i], hours[i]) if not math.isnan(hours[i]) else (math.inf, -math.inf)
        for i in range(n)
    }

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def link(x: int, y: int) -> float:
        total = sum(capped.get((min(a, b), max(a, b)), 0.0) for a in members[x] for b in members[y])
        return total / (len(members[x]) * len(members[y]))

    rejected = 0
    order = np.argsort(-evidence, kind="stable")
    for k in order:
        score = float(evidence[k])
        if score < 1.0:
            break
        i, j = int(rows[k]), int(cols[k])
        x, y = find(i), find(j)
        if x == y:
            continue
        lo = min(span[x][0], span[y][0])
        hi = max(span[x][1], span[y][1])
        linkage = link(x, y)
        if (hi > lo and hi - lo > params.window_hours) or linkage < params.linkage:
            rejected += 1
            continue
        answer = None
        if confirm is not None and score < BORDERLINE:
            answer = confirm(articles[i], articles[j])
            if not answer:
                rejected += 1
                continue
        same = (articles[i].source_lang or "und") == (articles[j].source_lang or "und")
        merge = Merge(
            a=articles[i].id,
            b=articles[j].id,
            kind=method if method != "lexical" else "lexical" if same else "anchors",
            evidence=round(score, 4),
            linkage=round(linkage, 4),
            confirmed=answer,
        )
        if len(members[x]) < len(members[y]):
            x, y = y, x
        parent[y] = x
        members[x].extend(members.pop(y))
        merges[x].extend(merges.pop(y))
        merges[x].append(merge)
        span[x] = (lo, hi)
    clusters = []
    for root, group in members.items():
        group.sort()
        pairs = [(a, b) for p, a in enumerate(group) for b in group[p + 1 :]]
        cohesion = sum(capped.get(pair, 0.0) for pair in pairs) / len(pairs) if pairs else 1.0
        clusters.append(
            Cluster(
                article_ids=[articles[i].id for i in group],
                languages=_langs(articles[i] for i in group),
                cohesion=round(cohesion, 4),
                merges=merges[root],
            )
        )
    first = {a.id: i for i, a in enumerate(articles)}
    clusters.sort(key=lambda c: (-len(c.article_ids), first[c.article_ids[0]]))
    return clusters, rejected
