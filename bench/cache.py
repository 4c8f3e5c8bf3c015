"""Cache: the same run twice (the second must make no LLM call), then the same articles
with one more language (only the new language is asked: one task per article).

One fake server serves all three runs: the cache key includes the endpoint (host:port),
so a server on a new port would rightly miss.

    python bench/cache.py            # 12 articles x 4 languages, + 1 language
    python bench/cache.py --quick    # 4 articles x 2 languages, + 1 language
"""

from __future__ import annotations

import argparse
import time

from _common import append_results, fake_env, isolated_dirs, make_articles, table

from digest.config import load_settings
from digest.pipeline import run_digest

LANGS = ["en", "tr", "ar", "de", "fr"]
HEADERS = [
    "run", "articles", "langs", "calls", "tasks asked", "cache hits", "published",
    "wall s", "summarize s", "expected tasks",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 articles x 2 languages")
    parser.add_argument("--latency", type=float, default=0.4, help="fake server latency, s")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    articles, langs = (4, 2) if args.quick else (12, 4)

    from support.openai_server import FakeOpenAI

    rows = []
    with isolated_dirs("cache") as root, FakeOpenAI(latency=args.latency) as fake:
        inputs = [str(p) for p in make_articles(root / "articles", articles)]
        plan = [
            ("first", langs, articles * langs),
            ("second (same)", langs, 0),
            ("+1 language", langs + 1, articles),
        ]
        for name, count, expected in plan:
            settings = load_settings(
                {
                    "languages": LANGS[:count],
                    "out": root / "out",
                    "cache": root / "cache.sqlite3",
                    "concurrency": args.concurrency,
                },
                env=fake_env(fake.base_url),
            )
            before = fake.chat_calls
            started = time.monotonic()
            outcome = run_digest(inputs, settings)
            wall = time.monotonic() - started
            results = outcome.digest.results
            rows.append(
                [
                    name, articles, count, fake.chat_calls - before,
                    sum(not r.cached for r in results), outcome.digest.cache_hits,
                    sum(r.status == "published" for r in results), round(wall, 2),
                    round(outcome.digest.timings.get("summarize", 0.0), 2), expected,
                ]
            )  # fmt: skip
            print(dict(zip(HEADERS, rows[-1], strict=True)), flush=True)
    text = table(HEADERS, rows)
    print("\n" + text)
    verdict = [
        f"second run calls: {rows[1][3]} (must be 0) -> {'OK' if rows[1][3] == 0 else 'FAIL'}",
        f"+1 language tasks: {rows[2][4]} (must equal articles = {articles}) -> "
        f"{'OK' if rows[2][4] == articles else 'FAIL'}; calls {rows[2][3]} "
        "(calls > tasks means re-asks)",
    ]
    print("\n".join(verdict))
    append_results(
        "cache" + (" (quick)" if args.quick else ""),
        {
            "latency_s": args.latency,
            "concurrency": args.concurrency,
            "cache": "fresh SQLite file in a temp dir",
        },
        text + "\n\n" + "\n".join(f"- {line}" for line in verdict),
    )


if __name__ == "__main__":
    main()
