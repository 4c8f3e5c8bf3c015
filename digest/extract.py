"""The floor under every summary: an extract of the article's own key sentences.

When the model's summary in the article's language fails its checks, readers get the
article's central sentences instead, never an empty story. They are chosen by LexRank
(Erkan & Radev, 2004, continuous variant): sentences are TF-IDF vectors of their content
stems (digest.checks.lexicon, the same stemming and stop words the claim checks use), the
cosine similarities form a graph, and the stationary distribution of a random walk on it
(power iteration, damping 0.85) ranks the sentences most of the article agrees with. Ties
go to the earlier sentence: news puts the essentials first. Every extracted sentence is
its own evidence, so the claim checks pass by construction; the text is labelled as an
extract wherever it is shown.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from digest.checks.lexicon import lexicon
from digest.checks.text import word_count
from digest.models import Claim, Summary

DAMPING = 0.85
MAX_POINT_WORDS = 60  # the gate's length limit for a key point
MAX_SUMMARY_WORDS = 120
SUMMARY_SENTENCES = 2
POINTS = 3


def rank_sentences(sentences: list[str], lang: str | None) -> list[int]:
    """0-based sentence indexes, most central first (LexRank)."""
    if not sentences:
        return []
    words = lexicon(lang)
    bags = [Counter(words.content_stems(s)) for s in sentences]
    documents = Counter(stem for bag in bags for stem in bag)
    count = len(sentences)
    idf = {stem: math.log(count / df) + 1.0 for stem, df in documents.items()}
    vocabulary = {stem: i for i, stem in enumerate(sorted(idf))}
    matrix = np.zeros((count, max(1, len(vocabulary))))
    for row, bag in enumerate(bags):
        for stem, tf in bag.items():
            matrix[row, vocabulary[stem]] = tf * idf[stem]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    similarity = unit @ unit.T
    totals = similarity.sum(axis=1, keepdims=True)
    transition = np.divide(
        similarity, totals, out=np.full_like(similarity, 1.0 / count), where=totals > 0
    )
    scores = np.full(count, 1.0 / count)
    for _ in range(100):
        updated = (1 - DAMPING) / count + DAMPING * (transition.T @ scores)
        if np.abs(updated - scores).sum() < 1e-9:
            scores = updated
            break
        scores = updated
    # Rounded so float noise never beats the earlier-sentence tie-break.
    return sorted(range(count), key=lambda i: (-round(float(scores[i]), 9), i))


def extract_summary(title: str, sentences: list[str], lang: str | None) -> Summary | None:
    """The article's own title, its two most central sentences as the summary and the next
    three as key points (in article order), each citing itself; None if the article has too
    few usable sentences."""
    usable = [
        i
        for i in rank_sentences(sentences, lang)
        if 3 <= word_count(sentences[i]) <= MAX_POINT_WORDS
    ]
    if len(usable) < SUMMARY_SENTENCES + POINTS:
        return None
    lead = sorted(usable[:SUMMARY_SENTENCES])
    if sum(word_count(sentences[i]) for i in lead) > MAX_SUMMARY_WORDS:
        lead = lead[:1]
    points = sorted([i for i in usable if i not in lead][:POINTS])
    return Summary(
        headline=" ".join(title.split()),
        sentences=[Claim(text=sentences[i], evidence=[i + 1]) for i in lead],
        points=[Claim(text=sentences[i], evidence=[i + 1]) for i in points],
    )
