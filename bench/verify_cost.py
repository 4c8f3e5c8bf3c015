"""What the optional verifier pass (``--verify``) costs: the same edition with and without
it, per strategy, against the loopback server (calls, prompt and completion tokens, wall
time, per article-language).

    python bench/verify_cost.py [--quick]
"""

from __future__ import annotations

import argparse

from _common import append_results, run_edition, seed_articles, table

LANGS = ["en", "tr", "ar", "de"]


def run(strategy: str, verify: bool, quick: bool) -> list[object]:
    articles = seed_articles()[:1] if quick else seed_articles()
    flags = {"strategy": strategy, "verify": verify}
    digest, wall = run_edition(flags, LANGS, articles, 0.05 if quick else 0.2)
    items = len(articles) * len(LANGS)
    usage = digest.usage
    return [
        strategy,
        "on" if verify else "off",
        usage.calls,
        round(usage.calls / items, 2),
        usage.prompt_tokens,
        usage.completion_tokens,
        round((usage.prompt_tokens + usage.completion_tokens) / items),
        round(wall, 2),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args()
    rows = [run(s, v, args.quick) for s in ("pivot", "direct") for v in (False, True)]
    body = table(
        [
            "strategy",
            "verifier",
            "calls",
            "calls per item",
            "prompt tok",
            "completion tok",
            "tokens per item",
            "wall s",
        ],
        rows,
    ) + (
        f"\n\n{len(seed_articles()[:1] if args.quick else seed_articles())} article(s) x "
        f"{len(LANGS)} languages; the loopback server counts words and punctuation as tokens."
    )
    print(body)
    if not args.no_results:
        append_results("verifier pass: cost", {"quick": args.quick}, body)


if __name__ == "__main__":
    main()
