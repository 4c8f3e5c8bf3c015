"""Pacing: 500 article-languages against the loopback server under a requests- and
tokens-per-minute limit (OpenAI-style: a bucket of one minute's worth, refilled
continuously, rate-limit headers on every answer, 429 + retry-after when exceeded).

The ideal is the time the limit itself needs: what does not fit in the first minute's
bucket, at the refill rate, for the requests and tokens the server actually admitted
(whichever limit binds). Two pacers are compared on the same limit: digest's (headers +
AIMD concurrency) and the fixed one it had before (a 429 pauses everyone, nothing else).

    python bench/pacing.py            # 100 articles x 5 languages, limit sized for ~30 s
    python bench/pacing.py --quick    # 20 x 5, limit sized for ~15 s
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path
from typing import Any

from _common import append_results, fake_env, isolated_dirs, make_articles, table

from digest.config import load_settings
from digest.errors import DigestError
from digest.pipeline import run_digest

LANGS = ["en", "tr", "de", "fr", "es"]
HEADERS = [
    "pacer", "tasks", "concurrency", "exit", "published", "429s", "calls", "ideal s",
    "summarize s", "wall s", "summarize/ideal", "lowest limit",
]  # fmt: skip


def measure(
    root: Path, inputs: list[Path], pacer: str, concurrency: int, rpm: float, tpm: float
) -> list[Any]:
    from support.openai_server import FakeOpenAI, RateLimit

    import digest.llm.endpoint as endpoint

    original = endpoint.Pacer
    fixed = pacer == "fixed (before)"
    base = functools.partial(original, read_headers=False, adaptive=False) if fixed else original
    pacers: list[Any] = []

    def factory(*args: Any, **kwargs: Any) -> Any:
        pacers.append(base(*args, **kwargs))
        return pacers[-1]

    endpoint.Pacer = factory  # type: ignore[misc]
    try:
        with FakeOpenAI(latency=0.05) as fake:
            fake.rate_limit = RateLimit(rpm=rpm, tpm=tpm)
            settings = load_settings(
                {
                    "languages": LANGS,
                    "out": root / f"out-{pacer.split()[0]}",
                    "no_cache": True,
                    "concurrency": concurrency,
                    "retry_max_seconds": 600,
                },
                env=fake_env(fake.base_url),
            )
            started = time.monotonic()
            code, published, summarize = 0, 0, 0.0
            try:
                outcome = run_digest([str(p) for p in inputs], settings)
                published = sum(r.status == "published" for r in outcome.digest.results)
                summarize = outcome.digest.timings.get("summarize", 0.0)
                code = int(outcome.exit_code)
            except DigestError as exc:
                code = int(exc.exit_code)
                print(f"{pacer}: {exc.message}")
            wall = time.monotonic() - started
            limit = fake.rate_limit
            admitted = limit.admitted
            ideal = max(
                (admitted["requests"] - rpm) / (rpm / 60),
                (admitted["tokens"] - tpm) / (tpm / 60),
                0.0,
            )
            refused, calls = limit.refused, fake.all_calls
    finally:
        endpoint.Pacer = original  # type: ignore[misc]
    lowest = pacers[0].lowest_limit if pacers else float("nan")
    tasks = len(inputs) * len(LANGS)
    return [
        pacer, tasks, concurrency, code, published, refused, calls, round(ideal, 2),
        round(summarize, 2), round(wall, 2), round(summarize / ideal, 2) if ideal else "",
        round(lowest, 1),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 articles instead of 100")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    articles = 20 if args.quick else 100
    tasks = articles * len(LANGS)
    # A minute's bucket holds 2/3 of the tasks (4/5 quick); the rest refill at rpm/60 a
    # second: the requests limit binds at ~30 s (~15 s quick). Tokens: about the same.
    rpm = round(tasks * (4 / 5 if args.quick else 2 / 3))
    rows = []
    with isolated_dirs("pacing") as root:
        inputs = make_articles(root / "articles", articles)
        tpm = _tokens_per_minute(inputs, rpm)
        for pacer in ("digest (headers + AIMD)", "fixed (before)"):
            row = measure(root, inputs, pacer, args.concurrency, rpm, tpm)
            rows.append(row)
            print(dict(zip(HEADERS, row, strict=True)), flush=True)
    text = table(HEADERS, rows)
    print("\n" + text)
    note = (
        "ideal = what the limit needs: the requests (and tokens) beyond the first minute's "
        "bucket at the refill rate, for the calls the server admitted (the capability probe "
        "included). summarize = the run's summarize step (the edition's own time, without "
        "loading and rendering). 429s = requests the server refused. lowest limit = the "
        "AIMD concurrency limit's low point (the fixed pacer never moves). A run that ends "
        "in exit 4 met more 429s on one task than the retry policy allows (4 x retries); "
        "its ideal counts only what was admitted before it stopped."
    )
    append_results(
        "pacing" + (" (quick)" if args.quick else ""),
        {
            "tasks": tasks,
            "rpm": rpm,
            "tpm": round(tpm),
            "latency_s": 0.05,
            "cache": "off",
            "languages": ",".join(LANGS),
        },
        text + "\n\n" + note,
    )


def _tokens_per_minute(inputs: list[Path], rpm: float) -> float:
    """A tokens limit that binds about as hard as the requests limit: rpm x the tokens the
    server counts for an average request (prompt characters / 4 + max_tokens)."""
    from digest.ingest.files import load_inputs
    from digest.languages import parse_languages
    from digest.prompts import load_prompt

    prompt = load_prompt("summarize")
    articles = load_inputs([str(p) for p in inputs]).articles
    lang = parse_languages(["en"])[0]
    sizes = [
        sum(len(m["content"]) for m in prompt.render(article=a, language=lang, fence=a.id)) / 4
        + prompt.max_tokens
        for a in articles
    ]
    return rpm * sum(sizes) / len(sizes)


if __name__ == "__main__":
    main()
