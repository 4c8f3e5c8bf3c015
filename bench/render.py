"""Render: a Digest of S stories x L languages (built in memory, no LLM, every result
published with a plausible summary in its language) through `digest.output.render.render_digest`.

The work runs in a child process so its peak RSS (ru_maxrss) is that of this work only.
Targets: under 5 s and 300 MB for 500 x 6. Gmail clips HTML emails over 102 KB, so the
per-language HTML sizes are reported too.

    python bench/render.py              # 500 stories x 6 languages
    python bench/render.py --quick      # 50 stories x 2 languages
    python bench/render.py --profile    # also the top functions by cumulative time
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from _common import append_results, table

LANGS = ["en", "tr", "ar", "de", "fr", "es"]
TARGET_SECONDS = 5.0
TARGET_MB = 300.0
GMAIL_CLIP = 102_000
GATES = ("empty", "language", "numbers", "entities", "copy", "repetition", "length")


def build_digest(stories: int, langs: int) -> Any:
    from _common import _shift_numbers, seed_articles
    from support.openai_server import canned_answer

    from digest.languages import parse_languages
    from digest.models import Article, Check, Digest, StoryResult, Summary, Usage

    seeds = seed_articles()
    languages = parse_languages(LANGS[:langs])
    articles = []
    for index in range(stories):
        seed = seeds[index % len(seeds)]
        articles.append(
            Article(
                id=f"{index:016x}",
                title=f"{seed.title} ({index + 1})",
                text=_shift_numbers(seed.text, index),
                url=f"https://news.example.org/story/{index}",
                source=f"bench/{index}.txt",
                source_lang=seed.source_lang,
                section=("World", "Transport", "City", None)[index % 4],
            )
        )
    checks = [Check(name=name, status="ok") for name in GATES]
    results = []
    for article in articles:
        for lang in languages:
            answer = canned_answer("summary", lang.base)
            results.append(
                StoryResult(
                    article_id=article.id,
                    lang=lang.code,
                    status="published",
                    summary=Summary.model_validate(answer),
                    checks=checks,
                    attempts=1,
                    usage=Usage(calls=1, prompt_tokens=900, completion_tokens=150),
                    seconds=1.0,
                )
            )
    return Digest(
        title="Benchmark digest",
        edition_date=date(2024, 4, 3),
        generated_at=datetime(2024, 4, 3, 6, 0, tzinfo=UTC),
        languages=languages,
        articles=articles,
        results=results,
        prompt="summarize@1",
        model="bench-model",
        endpoint="127.0.0.1",
        structured_mode="json_schema",
        usage=Usage(calls=len(results), prompt_tokens=900 * len(results)),
    )


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(stories: int, langs: int, profile: bool) -> None:
    from digest.output.render import render_digest

    started = time.monotonic()
    digest = build_digest(stories, langs)
    built = time.monotonic() - started
    rss_before = peak_rss_mb()
    with tempfile.TemporaryDirectory(prefix="digest-bench-render-") as tmp:
        out = Path(tmp)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.monotonic()
        report = render_digest(digest, out)
        seconds = time.monotonic() - started
        if profiler is not None:
            profiler.disable()
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    top: list[str] = []
    if profiler is not None:
        import io
        import pstats

        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(14)
        top = buffer.getvalue().splitlines()
    print(
        json.dumps(
            {
                "build_s": built,
                "render_s": seconds,
                "rss_before_mb": rss_before,
                "rss_peak_mb": peak_rss_mb(),
                "sizes": sizes,
                "warnings": report.warnings,
                "profile": top,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 stories x 2 languages")
    parser.add_argument("--stories", type=int)
    parser.add_argument("--langs", type=int)
    parser.add_argument("--profile", action="store_true", help="cProfile the render")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    stories = args.stories or (50 if args.quick else 500)
    langs = args.langs or (2 if args.quick else 6)
    if args.child:
        child(stories, langs, args.profile)
        return
    command = [sys.executable, __file__, "--child", f"--stories={stories}", f"--langs={langs}"]
    done = subprocess.run(
        command + (["--profile"] if args.profile else []),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"render child failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    summary_rows = [
        [
            stories, langs, round(data["render_s"], 2), round(data["rss_peak_mb"], 1),
            round(data["rss_before_mb"], 1), round(data["build_s"], 2),
            "yes" if data["render_s"] < TARGET_SECONDS and data["rss_peak_mb"] < TARGET_MB
            else "NO",
        ]
    ]  # fmt: skip
    summary = table(
        [
            "stories", "langs", "render s", "peak RSS MB", "RSS before render MB",
            "build Digest s", f"within {TARGET_SECONDS:g} s / {TARGET_MB:g} MB",
        ],
        summary_rows,
    )  # fmt: skip
    size_rows = []
    for name, size in data["sizes"].items():
        email = name.startswith("digest.") and name.endswith(".html")
        note = "CLIPPED by Gmail" if email and size > GMAIL_CLIP else ""
        if email:
            # Upper bound: the fixed part of the email is spread over the stories.
            note += f" (~{GMAIL_CLIP * stories // size} stories fit in 102 KB)"
        size_rows.append([name, round(size / 1000, 1), round(size / stories), note.strip()])
    sizes = table(["file", "KB", "bytes per story", "email note"], size_rows)
    warnings = "\n".join(f"- {w}" for w in data["warnings"]) or "- none"
    text = f"{summary}\n\n{sizes}\n\nrender warnings:\n{warnings}"
    if data["profile"]:
        text += "\n\n```\n" + "\n".join(data["profile"]) + "\n```"
    print(text)
    append_results(
        "render" + (" (quick)" if args.quick else ""),
        {"stories": stories, "languages": ",".join(LANGS[:langs]), "profile": args.profile},
        text,
    )


if __name__ == "__main__":
    main()
