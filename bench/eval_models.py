"""Which embedded model should be the default? `digest eval` on every candidate.

    python bench/eval_models.py                          # every candidate, both strategies
    python bench/eval_models.py --models gemma3-270m --strategies pivot
    python bench/eval_models.py --model-file qwen2.5-coder-1.5b=/path/to/file.gguf
    python bench/eval_models.py --report-only            # tables from the saved runs

Each candidate runs through the product's own path (digest.evaluate.run_eval: the embedded
llama.cpp server, the summarize and translate prompts, re-asks, every check, the extract
and source-language floors) on the same samples: the four seeds (en x3, tr) and four
bench/samples articles (ar, de, es, fr: two target languages and two that only pivot),
in en, tr, ar, de. A candidate is a bundled model name, or NAME=PATH for a GGUF file not
yet bundled. Answers are cached in bench/.work/eval-cache (so a re-run, or a run cut
short and started again, pays only for what is missing) and each candidate's report is
saved to bench/.work/eval/<name>.json as soon as it is done. When every candidate is done,
appends the table, the failures per check and one sample per language and candidate to
bench/RESULTS.md. The seconds are those recorded when each answer was paid for.

Budget on the project's 2 shared cores: ~2-3 h for all four candidates (the 1.5B model
generates ~20-25 tokens/s and reads the prompt at ~70 tokens/s).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import BENCH, REPO, SEEDS, append_results, table  # noqa: E402

WORK = BENCH / ".work"
SAVED = WORK / "eval"
SAMPLES = [
    str(SEEDS),
    *(
        str(BENCH / "samples" / name)
        for name in (
            "ar_water_project.txt",
            "de_bahn_streik.txt",
            "es_sequia_embalses.txt",
            "fr_hopital_urgences.txt",
        )
    ),
]
CANDIDATES = ["qwen2.5-coder-1.5b", "gemma3-270m", "qwen2.5-coder-0.5b", "smollm2-135m-instruct"]
LANGS = "en,tr,ar,de"


def _candidate(spec: str) -> tuple[str, Path | None]:
    name, _, path = spec.partition("=")
    return name, Path(path).expanduser().resolve() if path else None


def run_candidate(name: str, path: Path | None, args: argparse.Namespace) -> Path:
    from digest.commands.common import notice
    from digest.config import load_settings
    from digest.evaluate import ModelChoice, run_eval, write_report

    settings = load_settings(
        {"languages": args.langs.split(","), "cache": WORK / "eval-cache" / "cache.sqlite3"},
        env={},  # the embedded model, whatever the shell has exported
    )
    choice = ModelChoice(file=path) if path else ModelChoice(name=name)
    started = time.monotonic()
    report = run_eval(
        args.samples,
        settings,
        prompts=args.prompts.split(","),
        models=[choice],
        strategies=args.strategies.split(","),
        notice=notice,
        on_combination=lambda i, n, c: print(f"[{name}] {i}/{n}: {c.key}", flush=True),
    )
    for combo in report.combos:
        combo.combination = combo.combination.model_copy(update={"model": name})
    SAVED.mkdir(parents=True, exist_ok=True)
    out = write_report(report, SAVED / f"{name}.json")
    print(f"[{name}] done in {time.monotonic() - started:.0f} s -> {out}", flush=True)
    return out


def results_section(names: list[str], args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    from digest.eval_report import sample_lines
    from digest.evaluate import ORIGINS, EvalReport, load_report

    reports: list[EvalReport] = [load_report(SAVED / f"{n}.json") for n in names]
    rows, failures = [], []
    for report in reports:
        for combo in report.combos:
            m, c = combo.metrics, combo.combination
            share = m.supported_share
            per = m.seconds_per_published
            rows.append(
                [c.model, c.strategy, c.prompt, len(report.samples), m.items,
                 f"{m.published_share:.0%}",
                 *(m.origins.get(o, 0) for o in ORIGINS), m.withheld,
                 "-" if share is None else f"{share:.0%} ({m.claims_supported}/{m.claims})",
                 m.calls, f"{m.prompt_tokens}/{m.completion_tokens}",
                 "-" if per is None else round(per, 1), round(m.seconds)]
            )  # fmt: skip
            failed = ", ".join(f"{k} {v}" for k, v in m.failures.items()) or "-"
            failures.append([c.model, c.strategy, failed])
    headers = [
        "model", "strategy", "prompt", "articles", "items", "published", *ORIGINS, "withheld",
        "claims supported", "calls", "tokens in/out", "s/published", "s total",
    ]  # fmt: skip
    body = table(headers, rows) + "\n\nFailures per check (items whose last answer failed it):\n\n"
    body += table(["model", "strategy", "failures"], failures)
    samples: dict[str, str] = {}
    for report in reports:
        for combo in report.combos:
            samples[f"{combo.combination.model} {combo.combination.strategy}"] = "\n".join(
                sample_lines(report, combo)
            )
    return body, samples


def _short(source: str) -> str:
    path = Path(source)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(CANDIDATES), help="bundled names or NAME=PATH")
    parser.add_argument("--model-file", action="append", default=[], help="NAME=PATH (repeatable)")
    parser.add_argument("--strategies", default="pivot,direct")
    parser.add_argument("--prompts", default="summarize")
    parser.add_argument("--langs", default=LANGS)
    parser.add_argument("--samples", nargs="*", default=SAMPLES)
    parser.add_argument("--report-only", action="store_true", help="only tabulate saved runs")
    parser.add_argument("--no-results", action="store_true", help="do not append RESULTS.md")
    args = parser.parse_args()
    os.environ["DIGEST_CACHE_DIR"] = str(WORK / "eval-cache")  # models assemble here too
    os.environ["DIGEST_CONFIG_DIR"] = str(WORK / "eval-config")
    files = dict(_candidate(spec) for spec in args.model_file)
    names = [_candidate(spec)[0] for spec in args.models.split(",") if spec]
    files |= {n: p for n, p in map(_candidate, args.models.split(",")) if p}
    started = time.monotonic()
    if not args.report_only:
        from digest.errors import DigestError

        for name in names:
            try:
                run_candidate(name, files.get(name), args)
            except DigestError as exc:  # the others still run; a re-run pays only what is missing
                print(f"[{name}] failed: {exc.message}", flush=True)
    names = [n for n in names if (SAVED / f"{n}.json").exists()]
    body, samples = results_section(names, args)
    print(body)
    for key, text in samples.items():
        print(f"\n### {key}\n{text}")
    if args.no_results:
        return
    from digest.evaluate import load_report

    samples_md = "\n\n".join(f"**{key}**\n\n```\n{text}\n```" for key, text in samples.items())
    append_results(
        "embedded models (digest eval)",
        {
            "models": ",".join(names),
            "strategies": args.strategies,
            "prompts": args.prompts,
            "languages": args.langs,
            # each report's own articles: a re-run of one candidate may use fewer
            "samples": "; ".join(
                f"{name}: "
                + " ".join(
                    _short(ref.source) for ref in load_report(SAVED / f"{name}.json").samples
                )
                for name in names
            ),
            "wall_s": "-" if args.report_only else round(time.monotonic() - started),
        },
        body
        + "\n\nOne output per language and combination (same article across rows):\n\n"
        + samples_md,
    )


if __name__ == "__main__":
    main()
