"""Throughput: N articles x L languages through `run_digest` against the loopback fake
server at a fixed latency, for several concurrency levels.

The ideal is ceil(calls / concurrency) x latency: what perfect parallelism would take for
the calls actually made. `summarize/ideal` isolates the pipeline's scheduling overhead;
`wall/ideal` also counts loading, gate set-up and rendering.

    python bench/throughput.py            # 12x4 at c=1,4,8,16 and 100x6 at c=8,16
    python bench/throughput.py --quick    # 12x4 at c=8
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from _common import append_results, fake_env, isolated_dirs, make_articles, table

from digest.config import load_settings
from digest.pipeline import run_digest

LANGS = ["en", "tr", "ar", "de", "fr", "es"]
FULL = [(12, 4, [1, 4, 8, 16]), (100, 6, [8, 16])]
QUICK = [(12, 4, [8])]
HEADERS = [
    "articles", "langs", "concurrency", "calls", "calls/item", "published", "withheld",
    "max in flight", "ideal s", "summarize s", "wall s", "summarize/ideal", "wall/ideal",
]  # fmt: skip


def measure(
    root: Path, inputs: list[Path], langs: int, concurrency: int, latency: float
) -> list[object]:
    from support.openai_server import FakeOpenAI

    with FakeOpenAI(latency=latency) as fake:
        settings = load_settings(
            {
                "languages": LANGS[:langs],
                "out": root / f"out-{len(inputs)}x{langs}-c{concurrency}",
                "no_cache": True,
                "concurrency": concurrency,
            },
            env=fake_env(fake.base_url),
        )
        started = time.monotonic()
        outcome = run_digest([str(p) for p in inputs], settings)
        wall = time.monotonic() - started
        calls, in_flight = fake.chat_calls, fake.max_in_flight
    results = outcome.digest.results
    published = sum(r.status == "published" for r in results)
    ideal = math.ceil(calls / concurrency) * latency
    summarize = outcome.digest.timings.get("summarize", wall)
    return [
        len(inputs), langs, concurrency, calls, round(calls / len(results), 2), published,
        len(results) - published, in_flight, round(ideal, 2), round(summarize, 2),
        round(wall, 2), round(summarize / ideal, 2), round(wall / ideal, 2),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small configuration")
    parser.add_argument("--latency", type=float, default=0.4, help="fake server latency, s")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    rows = []
    with isolated_dirs("throughput") as root:
        for articles, langs, levels in plan:
            inputs = make_articles(root / f"articles-{articles}", articles)
            for concurrency in levels:
                row = measure(root, inputs, langs, concurrency, args.latency)
                rows.append(row)
                print(dict(zip(HEADERS, row, strict=True)), flush=True)
    text = table(HEADERS, rows)
    print("\n" + text)
    note = (
        "calls/item > 1 means re-asks: an answer failed a gate and was asked again "
        "(the product's `reasks`, default 2). The ideal uses the calls actually made. "
        "`summarize` includes building the language gate (~0.5 s, see startup.py)."
    )
    append_results(
        "throughput" + (" (quick)" if args.quick else ""),
        {"latency_s": args.latency, "cache": "off (--no-cache)", "languages": ",".join(LANGS)},
        text + "\n\n" + note,
    )


if __name__ == "__main__":
    main()
