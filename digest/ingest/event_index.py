"""Sparse vectors, candidate pairs and pair evidence for event clustering.

Candidates never come from all pairs: an inverted-index join over each article's heaviest
rare features (sparse product of a top-k matrix with itself), and random-hyperplane LSH
buckets for embeddings. Scores are then computed for the candidate pairs only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from digest.ingest.event_features import Features, anchor_keys, shared_anchors

TOP_K = 12  # features per article that look for candidates
# Across languages only names and figures link two articles: one shared key (a "20" in a
# tram closure and in a library opening) is a coincidence, not an event.
MIN_SHARED_ANCHORS = 2
# Names and figures are rare in the world even when every article of a small batch has
# them: their IDF counts this many pseudo-articles without them.
ANCHOR_PRIOR = 20


def tfidf(docs: Sequence[list[str]], *, sublinear: bool, prior: int = 0) -> Any:
    """Rows: l2-normalised tf-idf, idf = ln((1+n+prior)/(1+df)): without a prior a word in
    every article weighs 0; ``prior`` pseudo-articles holding none of the features keep
    what a small batch shares (two reports of one event) from weighing nothing."""
    import numpy as np
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    if not any(docs):  # no features at all (one language: no anchors shared across)
        return sparse.csr_matrix((len(docs), 0), dtype=np.float64), np.zeros(0, np.int64)
    vectorizer = CountVectorizer(analyzer=lambda d: d, binary=not sublinear)
    counts = vectorizer.fit_transform(docs).astype(np.float64).tocsr()
    if sublinear:
        counts.data = 1.0 + np.log(counts.data)
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1.0 + counts.shape[0] + prior) / (1.0 + df))
    weighted = counts @ sparse.diags(idf)
    return normalize(weighted.tocsr(), copy=False), df


def candidates(matrix: Any, df: Any, rare_df: int, top_k: int = TOP_K) -> tuple[Any, Any]:
    """Pairs (i < j) sharing one of their ``top_k`` heaviest features among those held by
    2..``rare_df`` rows: an inverted-index join costing at most n * top_k * rare_df."""
    import numpy as np
    from scipy import sparse

    keep = np.flatnonzero((df <= rare_df) & (df >= 2))
    if keep.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rare = matrix[:, keep].tocsr()
    row_of = np.repeat(np.arange(rare.shape[0]), np.diff(rare.indptr))
    order = np.lexsort((-rare.data, row_of))
    rank = np.arange(order.size) - rare.indptr[row_of[order]]
    chosen = order[rank < top_k]
    top = sparse.csr_matrix(
        (np.ones(chosen.size), (row_of[chosen], rare.indices[chosen])), shape=rare.shape
    )
    product = sparse.triu(top @ top.T, k=1).tocoo()
    return product.row.astype(np.int64), product.col.astype(np.int64)


def pair_cosines(matrix: Any, rows: Any, cols: Any, chunk: int = 50_000) -> Any:
    import numpy as np

    out = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        a = matrix[rows[start : start + chunk]]
        b = matrix[cols[start : start + chunk]]
        out[start : start + chunk] = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return out


def pair_shared(matrix: Any, rows: Any, cols: Any, chunk: int = 50_000) -> Any:
    """How many features each pair has in common (nonzero in both rows)."""
    import numpy as np

    out = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        a = matrix[rows[start : start + chunk]]
        b = matrix[cols[start : start + chunk]]
        out[start : start + chunk] = np.asarray((a.multiply(b) != 0).sum(axis=1)).ravel()
    return out


def lsh_candidates(vectors: Any, *, tables: int = 12, seed: int = 7) -> tuple[Any, Any]:
    """Random-hyperplane LSH: rows agreeing on all bits of some table are candidates; bits
    grow with log2(n) so buckets stay small."""
    import numpy as np

    n, dim = vectors.shape
    bits = max(4, min(24, math.ceil(math.log2(max(n, 2))) - 3))
    rng = np.random.default_rng(seed)
    pairs: set[tuple[int, int]] = set()
    weights = 1 << np.arange(bits)
    for _ in range(tables):
        planes = rng.standard_normal((dim, bits))
        codes = ((vectors @ planes) > 0).astype(np.int64) @ weights
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        for group in np.split(order, bounds):
            if 1 < len(group) <= 200:
                members = sorted(group.tolist())
                pairs.update(
                    (members[x], members[y])
                    for x in range(len(members))
                    for y in range(x + 1, len(members))
                )
    rows = np.fromiter((p[0] for p in pairs), np.int64, len(pairs))
    cols = np.fromiter((p[1] for p in pairs), np.int64, len(pairs))
    return rows, cols


class LexicalIndex:
    """Per-language TF-IDF matrices and the two anchor matrices (Latin names, skeletons)."""

    def __init__(self, feats: list[Features], rare_df: int) -> None:
        import numpy as np

        self.feats = feats
        self.rare_df = rare_df
        n = len(feats)
        self.local = np.zeros(n, np.int64)
        self.by_lang: dict[str, Any] = {}
        self.lang_id = np.zeros(n, np.int64)
        self.latin = np.array([f.latin for f in feats], bool)
        langs: dict[str, list[int]] = {}
        for i, f in enumerate(feats):
            langs.setdefault(f.lang, []).append(i)
        for code, (lang, members) in enumerate(sorted(langs.items())):
            self.lang_id[members] = code
            self.local[members] = np.arange(len(members))
            matrix, df = tfidf([feats[i].words for i in members], sublinear=True)
            anchors, _ = tfidf(
                [anchor_keys(feats[i], script=not feats[i].latin) for i in members],
                sublinear=False,
                prior=ANCHOR_PRIOR,
            )
            self.by_lang[lang] = (np.array(members, np.int64), matrix, df, anchors)
        self.names, self.names_df = tfidf(
            shared_anchors(feats, script=False), sublinear=False, prior=ANCHOR_PRIOR
        )
        self.skel, self.skel_df = tfidf(
            shared_anchors(feats, script=True), sublinear=False, prior=ANCHOR_PRIOR
        )

    def candidates(self) -> tuple[Any, Any]:
        import numpy as np

        rows: list[Any] = []
        cols: list[Any] = []
        for members, matrix, df, _ in self.by_lang.values():
            r, c = candidates(matrix, df, self.rare_df)
            rows.append(members[r])
            cols.append(members[c])
        for matrix, df, want_latin in (
            (self.names, self.names_df, True),
            (self.skel, self.skel_df, False),
        ):
            r, c = candidates(matrix, df, self.rare_df)
            both_latin = self.latin[r] & self.latin[c]
            keep = (self.lang_id[r] != self.lang_id[c]) & (both_latin == want_latin)
            rows.append(r[keep])
            cols.append(c[keep])
        return np.concatenate(rows), np.concatenate(cols)

    def evidence(
        self, rows: Any, cols: Any, lexical_threshold: float, anchor_threshold: float
    ) -> Any:
        """Lexical cosine / threshold within a language, anchor cosine / threshold across
        (0 for a pair sharing fewer than ``MIN_SHARED_ANCHORS`` names and figures)."""
        import numpy as np

        out = np.zeros(len(rows))
        same = self.lang_id[rows] == self.lang_id[cols]
        for members, matrix, _, anchors in self.by_lang.values():
            mask = same & np.isin(rows, members)
            if mask.any():
                a, b = self.local[rows[mask]], self.local[cols[mask]]
                words = pair_cosines(matrix, a, b) / lexical_threshold
                names = pair_cosines(anchors, a, b) / anchor_threshold
                out[mask] = (words + names) / 2
        both_latin = self.latin[rows] & self.latin[cols]
        for matrix, mask in ((self.names, ~same & both_latin), (self.skel, ~same & ~both_latin)):
            if mask.any():
                cos = pair_cosines(matrix, rows[mask], cols[mask])
                shared = pair_shared(matrix, rows[mask], cols[mask])
                out[mask] = np.where(shared >= MIN_SHARED_ANCHORS, cos / anchor_threshold, 0.0)
        return out
