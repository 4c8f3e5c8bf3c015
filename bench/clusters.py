"""Event clustering: pairwise precision / recall / F1 on the labelled set, per method, and
time and memory on many synthetic articles.

    python bench/clusters.py                  # labelled set + 20,000 synthetic articles
    python bench/clusters.py --quick          # labelled set + 2,000 synthetic articles
    python bench/clusters.py --scale 50000    # another size
    python bench/clusters.py --embed-url http://127.0.0.1:8080/v1 --embed-model NAME
    python bench/clusters.py --data bench/data/clusters-heldout --quick   # another labelled set

Labelled set: bench/data/clusters/ (``labels.json``: file -> event; ``disagreements.json``:
what the sources were written to disagree on). ``--data DIR`` reads another set in the same
format (``disagreements.json`` optional) and titles its RESULTS.md section "clusters
(held-out set)": a set written by someone who did not tune the method. Pairwise scores
count every pair of articles: a true positive is a pair in one cluster and one event.
"within" = both articles in the same language, "across" = different languages.

Methods: ``lexical`` always. ``embeddings`` and ``lexical+embeddings`` need vectors: from an
OpenAI-compatible ``/v1/embeddings`` endpoint (``--embed-url``); without one they are
reported as not run (a fake embedder would only measure itself).

Scale: each run is a child process (peak RSS is its own ``ru_maxrss``) clustering N
synthetic articles (en/de/tr made-up vocabularies with Zipf frequencies, events of 1-12
articles sharing names, figures and topic words, dates over 7 days).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

from _common import REPO, append_results, table

from digest.ingest.clusters import (
    ANCHOR_THRESHOLD,
    EMBEDDING_THRESHOLD,
    LEXICAL_THRESHOLD,
    ClusterResult,
    Embedder,
    Tuning,
    cluster_articles,
)
from digest.ingest.disagreements import find_disagreements
from digest.ingest.event_features import fold
from digest.ingest.files import load_inputs
from digest.models import Article

DATA = REPO / "bench" / "data" / "clusters"
TARGETS = {"within": 0.9, "across": 0.8}


# --- labelled set ---------------------------------------------------------------------------


def load_labelled(data: Path = DATA) -> tuple[list[Article], dict[str, str]]:
    labels: dict[str, str] = json.loads((data / "labels.json").read_text(encoding="utf-8"))
    articles = load_inputs([str(data)]).articles
    events = {a.id: labels[Path(a.source).name] for a in articles}
    return articles, events


def pairwise(
    articles: list[Article], events: dict[str, str], result: ClusterResult
) -> dict[str, tuple[float, float, float, int]]:
    """within / across / all -> (precision, recall, F1, true pairs)."""
    cluster = result.cluster_of()
    counts = {k: [0, 0, 0] for k in ("within", "across", "all")}
    for a, b in combinations(articles, 2):
        scope = "within" if a.source_lang == b.source_lang else "across"
        predicted = cluster[a.id] == cluster[b.id]
        actual = events[a.id] == events[b.id]
        for key in (scope, "all"):
            if predicted and actual:
                counts[key][0] += 1
            elif predicted:
                counts[key][1] += 1
            elif actual:
                counts[key][2] += 1
    out = {}
    for key, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[key] = (precision, recall, f1, tp + fn)
    return out


def openai_embedder(base_url: str, model: str, batch: int = 64) -> Embedder:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="sk-bench", timeout=120)

    def embed(texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch):
            answer = client.embeddings.create(model=model, input=texts[start : start + batch])
            vectors.extend(item.embedding for item in answer.data)
        return vectors

    return embed


def disagreement_scores(
    articles: list[Article], events: dict[str, str], data: Path = DATA
) -> tuple[str, list[str]]:
    """Run find_disagreements on each labelled event (true clusters, so clustering errors do
    not blur it) and compare with disagreements.json (none planted when the file is absent)."""
    planted = data / "disagreements.json"
    expected: dict[str, dict[str, Any]] = {
        k: v
        for k, v in (json.loads(planted.read_text("utf-8")) if planted.exists() else {}).items()
        if not k.startswith("_")
    }
    by_event: dict[str, list[Article]] = {}
    for article in articles:
        by_event.setdefault(events[article.id], []).append(article)
    rows = []
    lines = []
    found_expected = false_alarms = 0
    for event, members in sorted(by_event.items()):
        found = find_disagreements(members)
        wanted = expected.get(event, {})
        hits = []
        for item in found:
            values = {fold(v.value) for v in item.values}
            match = any(values == {fold(x) for x in vals} for vals in wanted.values())
            hits.append(match)
            lines.append(f"{event}: {item.text()}" + ("" if match else "  (false alarm)"))
        found_expected += sum(hits)
        false_alarms += sum(not h for h in hits)
        if found or wanted:
            rows.append([event, len(members), len(wanted), sum(hits), sum(not h for h in hits)])
    total = sum(len(v) for v in expected.values())
    text = table(["event", "articles", "planted", "found", "false alarms"], rows)
    text += (
        f"\n\nDisagreements: {found_expected}/{total} planted found, {false_alarms} false "
        f"alarm(s) over {len(by_event)} events."
    )
    return text, lines


# --- synthetic scale ------------------------------------------------------------------------


def _pseudo_words(rng: random.Random, count: int, syllables: list[str]) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 5))))
    return sorted(words)


def synthetic(count: int, seed: int = 11) -> tuple[list[Article], dict[str, str]]:
    """``count`` articles in en/de/tr: background words drawn by Zipf from a 20,000-word
    vocabulary per language; an event (1-12 articles) adds its topic words (per language),
    names and figures (shared by all languages) and a date within 7 days."""
    rng = random.Random(seed)
    syllables = {
        "en": ["th", "an", "er", "on", "re", "in", "ed", "ing", "st", "al", "or", "ow"],
        "de": ["sch", "ein", "ung", "ber", "ge", "ach", "ie", "en", "tz", "ver", "au", "ei"],
        "tr": ["lar", "ler", "da", "ın", "ya", "ş", "ğı", "ti", "mek", "ke", "öz", "ül"],
    }
    vocab = {lang: _pseudo_words(rng, 20_000, syl) for lang, syl in syllables.items()}
    weights = [1 / (rank + 1) for rank in range(20_000)]
    names = [w.capitalize() for w in _pseudo_words(rng, 60_000, sum(syllables.values(), []))]
    start = datetime(2026, 3, 1, tzinfo=UTC)
    articles: list[Article] = []
    events: dict[str, str] = {}
    event = 0
    while len(articles) < count:
        size = min(count - len(articles), rng.choice([1, 1, 2, 3, 3, 4, 5, 6, 8, 12]))
        when = start + timedelta(hours=rng.uniform(0, 7 * 24))
        event_names = rng.sample(names, 8)
        figures = [str(rng.randint(10, 5000)) for _ in range(4)]
        topic = {lang: rng.sample(vocab[lang][2000:], 15) for lang in vocab}
        for _ in range(size):
            lang = rng.choice(["en", "de", "tr"])
            words = rng.choices(vocab[lang], weights, k=110)
            words += rng.sample(topic[lang], 10)
            words += rng.sample(event_names, 6)
            words += rng.sample(figures, 3)
            rng.shuffle(words)
            text = " ".join(words) + "."
            aid = hashlib.sha256(text.encode()).hexdigest()[:16]
            articles.append(
                Article(
                    id=aid,
                    title=" ".join(words[:8]),
                    text=text,
                    published=when + timedelta(hours=rng.uniform(0, 6)),
                    source=f"synthetic/{len(articles)}",
                    source_lang=lang,
                )
            )
            events[aid] = f"e{event}"
        event += 1
    return articles, events


def scale_child(count: int) -> None:
    """Runs in a child: build, cluster, print one JSON line (the parent reads it)."""
    articles, events = synthetic(count)
    started = time.perf_counter()
    result = cluster_articles(articles)
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scores = pairwise_sampled(articles, events, result)
    print(
        json.dumps(
            {
                "articles": count,
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(rss_mb),
                "clusters": len(result.clusters),
                "events": len(set(events.values())),
                "candidate_pairs": result.candidate_pairs,
                "f1_all": round(scores, 3),
            }
        )
    )


def pairwise_sampled(
    articles: list[Article], events: dict[str, str], result: ClusterResult
) -> float:
    """Pairwise F1 without all pairs: true and predicted pairs counted per group."""
    cluster = result.cluster_of()
    both = Counter((cluster[a.id], events[a.id]) for a in articles)
    by_cluster = Counter(cluster[a.id] for a in articles)
    by_event = Counter(events[a.id] for a in articles)

    def pairs(counter: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    tp, predicted, actual = pairs(both), pairs(by_cluster), pairs(by_event)
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="scale 2,000 instead of 20,000")
    parser.add_argument("--scale", type=int, default=None, help="synthetic articles")
    parser.add_argument("--embed-url", default=None, help="OpenAI-compatible base URL")
    parser.add_argument("--embed-model", default="embedding")
    parser.add_argument("--embed-threshold", type=float, default=EMBEDDING_THRESHOLD)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-append", action="store_true", help="print only")
    parser.add_argument(
        "--data",
        type=Path,
        default=DATA,
        help="labelled set (labels.json, optional disagreements.json); another than the "
        "default is reported as a held-out set",
    )
    args = parser.parse_args()
    if args.child is not None:
        scale_child(args.child)
        return
    count = args.scale or (2_000 if args.quick else 20_000)

    data = args.data.resolve()
    held_out = data != DATA.resolve()
    articles, events = load_labelled(data)
    langs = Counter(a.source_lang for a in articles)
    print(
        f"labelled set: {len(articles)} articles, {len(set(events.values()))} events, "
        + ", ".join(f"{k} {v}" for k, v in sorted(langs.items()))
    )
    embed = openai_embedder(args.embed_url, args.embed_model) if args.embed_url else None
    rows: list[list[Any]] = []
    for method in ("lexical", "embeddings", "lexical+embeddings"):
        if method != "lexical" and embed is None:
            rows.append([method, "not run (no --embed-url)", *[""] * 7])
            continue
        started = time.perf_counter()
        result = cluster_articles(
            articles,
            embed=embed,
            method=method,  # type: ignore[arg-type]
            tuning=Tuning(embedding_threshold=args.embed_threshold),
        )
        seconds = time.perf_counter() - started
        s = pairwise(articles, events, result)
        rows.append(
            [method, len(result.clusters)]
            + [round(x, 3) for x in s["within"][:3]]
            + [round(x, 3) for x in s["across"][:3]]
            + [round(seconds, 2)]
        )
        print(dict(zip(HEADERS, rows[-1], strict=True)), flush=True)
    quality = table(HEADERS, rows)

    sweep_rows = sensitivity(articles, events)
    sweep = table(["thresholds x", "within F1", "across F1", "all F1"], sweep_rows)
    dis_table, dis_lines = disagreement_scores(articles, events, data)

    command = [sys.executable, __file__, "--child", str(count)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
    scale = json.loads(out.stdout.strip().splitlines()[-1])
    scale_table = table(list(scale), [list(scale.values())])
    print("\n" + quality + "\n\n" + sweep + "\n\n" + dis_table + "\n\n" + scale_table)
    print("\n".join(dis_lines))
    verdict = [
        f"within-language F1 {rows[0][4]} (target >= {TARGETS['within']}), across-language "
        f"F1 {rows[0][7]} (target >= {TARGETS['across']}) for lexical",
        f"{count:,} synthetic articles: {scale['seconds']} s (target < 60), peak RSS "
        f"{scale['peak_rss_mb']} MB (target < 2048), pairwise F1 {scale['f1_all']}",
    ]
    print("\n".join(verdict))
    if args.no_append:
        return
    body = (
        quality
        + "\n\nThreshold sensitivity (lexical; every threshold multiplied by x):\n\n"
        + sweep
        + "\n\n"
        + dis_table
        + "\n\n"
        + "\n".join(f"- {line}" for line in dis_lines)
        + "\n\nScale (synthetic, child process):\n\n"
        + scale_table
        + "\n\n"
        + "\n".join(f"- {line}" for line in verdict)
        + "\n\n"
        + (HELD_OUT_NOTE if held_out else CAVEAT)
    )
    shown = data.relative_to(REPO) if data.is_relative_to(REPO) else data
    append_results(
        "clusters (held-out set)" if held_out else "clusters" + (" (quick)" if args.quick else ""),
        {
            **({"data": shown} if held_out else {}),
            "labelled": f"{len(articles)} articles / {len(set(events.values()))} events",
            "window_h": 48,
            "scale": count,
            "embeddings": args.embed_model if embed else "none",
        },
        body,
    )


CAVEAT = (
    "Caveat: the labelled set was written by the engineer who tuned the method, and the two "
    "thresholds sit in the middle of the range where it scores 1.00 (sweep above), so 1.00 "
    "is an upper bound for unseen news; the sweep shows how far the defaults are from the "
    "edges. The synthetic F1 only shows that scale does not break the clustering (its "
    "events are easy by construction). The first labelled run includes importing "
    "scikit-learn (about 1 s)."
)
HELD_OUT_NOTE = (
    "Held-out set: written by someone who did not write or tune the method, after reading it "
    "but without running it on the set first; the set was not changed after the run. The "
    "sweep above is for reading only (the defaults were not moved)."
)
HEADERS = [
    "method", "clusters", "within P", "within R", "within F1",
    "across P", "across R", "across F1", "seconds",
]  # fmt: skip


def sensitivity(articles: list[Article], events: dict[str, str]) -> list[list[Any]]:
    """F1 when both lexical thresholds move together: a method tuned to one point would
    collapse a little way off it."""
    rows = []
    for factor in (0.6, 0.7, 0.85, 1.0, 1.15, 1.3, 1.5):
        tuning = Tuning(
            lexical_threshold=LEXICAL_THRESHOLD * factor,
            anchor_threshold=ANCHOR_THRESHOLD * factor,
        )
        s = pairwise(articles, events, cluster_articles(articles, tuning=tuning))
        rows.append([factor, *(round(s[k][2], 3) for k in ("within", "across", "all"))])
    return rows


if __name__ == "__main__":
    main()
