"""Strategy: pivot (summarise once in the article's language with evidence, translate that
checked summary) against direct (summarise every language straight from the article).

Two measurements decide the default:

1. Cost and time, from real runs of the product's edition core (``summarise_edition``)
   against the loopback OpenAI-compatible server with a fixed latency per call, at 4 and 12
   languages: LLM calls, prompt and completion tokens (the server counts words and
   punctuation: a proxy for tokens, the same for both strategies), wall seconds, and how
   many items were published by the model or a translation.
2. Faithfulness, model-free (``bench/faithfulness.py``): the same distorted claims checked
   as the pivot checks them (in the article's own language: citations, numbers, names,
   support, negation, roles) and as direct checks a claim written in another language
   (citations, numbers and names only: word-level checks cannot compare two languages).

    python bench/strategy.py            # 4 seeds x 4 and 12 languages, latency 0.4 s
    python bench/strategy.py --quick    # seed 000, latency 0.05 s
"""

from __future__ import annotations

import argparse

from _common import REPO, SEEDS, append_results, run_edition, seed_articles, table

FOUR = ["en", "tr", "ar", "de"]
TWELVE = ["en", "tr", "ar", "de", "fr", "es", "pt", "it", "nl", "ru", "fa", "zh"]
STRATEGIES = ["pivot", "direct"]


def run_once(strategy: str, langs: list[str], articles: list[object], latency: float) -> dict:
    digest, wall = run_edition({"strategy": strategy, "concurrency": 8}, langs, articles, latency)
    results = digest.results
    own = sum(r.status == "published" and r.origin in ("model", "translation") for r in results)
    return {
        "calls": digest.usage.calls,
        "prompt": digest.usage.prompt_tokens,
        "completion": digest.usage.completion_tokens,
        "wall": wall,
        "items": len(results),
        "own": own,
    }


def cost_table(quick: bool) -> tuple[str, dict[str, dict[int, dict]]]:
    articles = seed_articles()[:1] if quick else seed_articles()
    latency = 0.05 if quick else 0.4
    figures: dict[str, dict[int, dict]] = {s: {} for s in STRATEGIES}
    rows = []
    for langs in (FOUR, TWELVE):
        for strategy in STRATEGIES:
            f = run_once(strategy, langs, articles, latency)
            figures[strategy][len(langs)] = f
            rows.append(
                [
                    strategy,
                    len(langs),
                    f"{len(articles)} x {len(langs)}",
                    f["calls"],
                    f["prompt"],
                    f["completion"],
                    f["prompt"] + f["completion"],
                    round(f["wall"], 2),
                    f"{f['own']}/{f['items']}",
                ]
            )
            print(rows[-1], flush=True)
    headers = [
        "strategy",
        "languages",
        "items",
        "calls",
        "prompt tok",
        "completion tok",
        "total tok",
        "wall s",
        "model/translation published",
    ]
    return table(headers, rows) + f"\n\nLatency per call {latency} s, concurrency 8.", figures


def faithfulness_table() -> str:
    import faithfulness

    folders = [SEEDS, REPO / "bench" / "samples"]
    same = faithfulness.run(folders, verbose=False, same_language=True)
    cross = faithfulness.run(folders, verbose=False, same_language=False)
    kinds = list(same["detection"])  # type: ignore[arg-type]
    rows = [
        [
            kind,
            round(same["detection"][kind], 3),  # type: ignore[index]
            round(cross["detection"].get(kind, float("nan")), 3),  # type: ignore[attr-defined]
        ]
        for kind in kinds
    ]
    false_positives = [round(r["false_positive"], 3) for r in (same, cross)]  # type: ignore[arg-type]
    rows.append(["false positives", *false_positives])
    return (
        table(["distortion", "pivot: caught", "direct: caught"], rows)
        + f"\n\n{same['claims']} claims in {', '.join(same['languages'])}."  # type: ignore[arg-type]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, short latency")
    parser.add_argument("--no-results", action="store_true", help="do not append RESULTS.md")
    args = parser.parse_args()
    costs, figures = cost_table(args.quick)
    faith = faithfulness_table()
    pivot, direct = (figures[s] for s in STRATEGIES)
    ratio = {
        n: (pivot[n]["prompt"] + pivot[n]["completion"])
        / max(1, direct[n]["prompt"] + direct[n]["completion"])
        for n in (4, 12)
    }
    body = (
        "### Cost and time\n\n"
        + costs
        + "\n\n### Faithfulness: the same distorted claims, checked as each strategy does\n\n"
        + faith
        + "\n\nPivot/direct total tokens: "
        + ", ".join(f"{n} languages {r:.2f}x" for n, r in ratio.items())
        + "."
    )
    print(body)
    if not args.no_results:
        append_results("strategy: pivot vs direct", {"quick": args.quick}, body)


if __name__ == "__main__":
    main()
