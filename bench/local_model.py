"""Local model: speed and answer quality of each bundled GGUF model, through our path and
through llama.cpp called directly. This is the measurement that picks the default model.

Our path: openai client -> LocalServer (llama.cpp server subprocess on 127.0.0.1), with
the product's request (real summarize prompt, json_object + schema, repeat_penalty).
Direct: `llama_cpp.Llama(...).create_chat_completion(...)` in-process with the same
messages, max_tokens, temperature, seed and response_format.

Speed, on the seed article in the first language, the same way on both paths, both
loaded at once and measured alternately (other work on the machine weighs on both alike):
- prompt processing: a max_tokens=1 request with a fresh fence (same length as an article
  id) so no prefix cache helps: prompt tokens / seconds;
- generation: (completion tokens) / (full answer seconds - prompt-probe seconds);
- overhead %: (ours - direct) / direct, for the probe and for the full answer.

Quality, through our path: first-attempt answers (no re-ask) for the seed articles x
languages, round-robin so a time budget still covers every language: JSON-valid,
schema-valid (digest.models.Summary), gates passed (digest.checks.Gate). The product
re-asks up to twice; the first-attempt rate is what decides how often it must.

    python bench/local_model.py                 # every bundled model, ~6 min on 2 cores
    python bench/local_model.py --quick         # seed 000 x en per model
    python bench/local_model.py --models gemma3-270m --budget 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import (
    BENCH,
    append_results,
    git_commit,
    isolated_dirs,
    load_average,
    machine_line,
    seed_articles,
    table,
)

from digest.languages import parse_language
from digest.models import Article, LanguageInfo, Summary
from digest.prompts import PromptSpec, load_prompt, wire_schema

LANGS = ["en", "tr", "ar", "de"]
THREADS = 2
CTX = 4096
SEED = 1234
LATEST = BENCH / "local_model_latest.json"


def request(spec: PromptSpec, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
    """The sampling parameters both paths get (the product's, plus a fixed seed)."""
    return {
        "messages": messages,
        "temperature": spec.temperature,
        "max_tokens": max_tokens,
        "seed": SEED,
        "response_format": {"type": "json_object", "schema": wire_schema(spec.schema_model)},
        "repeat_penalty": spec.repeat_penalty,
    }


_PERF = {
    "prompt_ms": re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens"),
    "eval_ms": re.compile(r"(?<!prompt )eval time =\s*([\d.]+) ms /\s*(\d+) runs"),
    "total_ms": re.compile(r"total time =\s*([\d.]+) ms"),
}


def perf(log: str) -> dict[str, float]:
    """llama.cpp's own timings of the last completion in a log (llama_perf_context_print)."""
    found: dict[str, float] = {}
    for key, pattern in _PERF.items():
        matches = pattern.findall(log)
        if matches:
            last = matches[-1]
            found[key] = float(last[0] if isinstance(last, tuple) else last)
            if isinstance(last, tuple):
                found[key.replace("_ms", "_n")] = float(last[1])
    return found


class Server:
    """Our path: the product's LocalServer reached with the product's openai client.
    The server runs verbose, so its log holds llama.cpp's timings of every request."""

    def __init__(self, path: Path, chat_format: str | None, tuned_log: Path | None = None) -> None:
        from digest.llm.local import LocalServer
        from digest.llm.wire import make_openai_client

        if tuned_log is None:
            self.server = LocalServer(path, chat_format=chat_format, threads=THREADS, ctx=CTX)
        else:
            self.server = tuned_server(path, chat_format, tuned_log)
        started = time.monotonic()
        self.server.start()
        self.startup = time.monotonic() - started
        self.client = make_openai_client(self.server.base_url, None, timeout=900)

    def ask(self, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        extra = {"repeat_penalty": params.pop("repeat_penalty")}
        offset = self.server.log_path.stat().st_size
        started = time.monotonic()
        response = self.client.chat.completions.create(model="local", extra_body=extra, **params)
        seconds = time.monotonic() - started
        with self.server.log_path.open("rb") as handle:
            handle.seek(offset)
            log = handle.read().decode("utf-8", "replace")
        usage = response.usage
        return {
            "seconds": seconds,
            "content": response.choices[0].message.content or "",
            "finish": response.choices[0].finish_reason,
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "perf": perf(log),
        }

    def close(self) -> None:
        self.server.stop()


TUNING = "generation on 1 thread (--n_threads 1, batch still 2), --logits_all false"


def tuned_server(path: Path, chat_format: str | None, log: Path) -> Any:
    """LocalServer with the flags this benchmark suggests, to measure them on our path.
    Why: llama.cpp's OpenMP team is driven from the server's worker threads, where two
    threads on 2 cores generate slower than one; logits_all (on by default in
    llama_cpp.server) makes prompt processing compute logits for every prompt token."""
    from digest.llm.local import LocalServer

    class TunedLocalServer(LocalServer):
        def command(self) -> list[str]:
            cmd = super().command()
            cmd[cmd.index("--n_threads") + 1] = "1"
            return cmd + ["--logits_all", "false"]

    return TunedLocalServer(path, chat_format=chat_format, threads=THREADS, ctx=CTX, log_path=log)


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send fd 2 to a file: llama.cpp prints its timings from C, past sys.stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class Direct:
    """llama.cpp in-process: the floor our path is compared against."""

    def __init__(
        self, path: Path, chat_format: str | None, log: Path, *, logits_all: bool = False
    ) -> None:
        import llama_cpp

        self.log = log
        started = time.monotonic()
        with stderr_to(log):
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=CTX,
                n_threads=THREADS,
                n_threads_batch=THREADS,
                chat_format=chat_format,
                logits_all=logits_all,
                verbose=True,  # for llama_perf_context_print, as the server does
            )
        self.startup = time.monotonic() - started

    def ask(self, params: dict[str, Any]) -> dict[str, Any]:
        offset = self.log.stat().st_size
        with stderr_to(self.log):
            started = time.monotonic()
            response: Any = self.llm.create_chat_completion(**params)
            seconds = time.monotonic() - started
        with self.log.open("rb") as handle:
            handle.seek(offset)
            log = handle.read().decode("utf-8", "replace")
        return {
            "seconds": seconds,
            "content": response["choices"][0]["message"]["content"] or "",
            "finish": response["choices"][0]["finish_reason"],
            "prompt_tokens": response["usage"]["prompt_tokens"],
            "completion_tokens": response["usage"]["completion_tokens"],
            "perf": perf(log),
        }

    def close(self) -> None:
        with stderr_to(self.log):
            self.llm.close()


def judge(
    answer: dict[str, Any], article: Article, lang: LanguageInfo, gate: Any
) -> dict[str, Any]:
    """JSON-valid -> schema-valid -> gates passed, as the product would judge a first answer."""
    from pydantic import ValidationError

    from digest.checks import passed

    verdict: dict[str, Any] = {"json": False, "schema": False, "gates": False, "failed": []}
    text = answer["content"].strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        json.loads(text, strict=False)
        verdict["lenient"] = True  # would parse if raw control characters were allowed
    except json.JSONDecodeError:
        verdict["lenient"] = False
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        verdict["failed"] = ["truncated" if answer["finish"] == "length" else "json"]
        return verdict
    verdict["json"] = True
    try:
        summary = Summary.model_validate(data)
    except ValidationError:
        verdict["failed"] = ["schema"]
        return verdict
    verdict["schema"] = True
    checks = gate.check(
        summary.fields(), source_text=article.text, source_lang=article.source_lang, lang=lang
    )
    verdict["gates"] = passed(checks)
    verdict["failed"] = [c.name for c in checks if c.status == "fail"]
    return verdict


def speed(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs: wall seconds, llama.cpp's prompt and generation rates, and the
    seconds spent outside llama.cpp (HTTP, JSON, Python) = wall - llama.cpp total."""

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    timed = [r for r in runs if {"prompt_ms", "eval_ms", "total_ms"} <= r["perf"].keys()]
    return {
        "runs": len(runs),
        "wall_s": med([r["seconds"] for r in runs]),
        "wall_min_s": min(r["seconds"] for r in runs),
        "wall_max_s": max(r["seconds"] for r in runs),
        "prompt_tokens": runs[0]["prompt_tokens"],
        "completion_tokens": runs[0]["completion_tokens"],
        "prompt_tok_s": med([r["perf"]["prompt_n"] / r["perf"]["prompt_ms"] * 1000 for r in timed]),
        "gen_tok_s": med([r["perf"]["eval_n"] / r["perf"]["eval_ms"] * 1000 for r in timed]),
        "outside_s": med([r["seconds"] - r["perf"]["total_ms"] / 1000 for r in timed]),
    }


def logits_all_ab(
    direct: Direct,
    path: Path,
    chat_format: str | None,
    workdir: Path,
    spec: PromptSpec,
    article: Article,
    lang: LanguageInfo,
    pairs: int,
) -> dict[str, float] | None:
    """Prompt tok/s in-process with logits_all off (llama.cpp's default) and on (what
    llama_cpp.server sets unless told `--logits_all false`), alternating prompt-only
    requests: how much of our path's prompt cost that one server default explains."""
    if pairs <= 0:
        return None
    other = Direct(path, chat_format, workdir / "direct-logits-all.log", logits_all=True)
    rates: dict[bool, list[float]] = {False: [], True: []}
    try:
        for _ in range(pairs):
            for flag, target in ((False, direct), (True, other)):
                messages = spec.render(article=article, language=lang, fence=secrets.token_hex(8))
                found = target.ask(request(spec, messages, 1))["perf"]
                if "prompt_ms" in found:
                    rates[flag].append(found["prompt_n"] / found["prompt_ms"] * 1000)
    finally:
        other.close()
    return {
        "off": statistics.median(rates[False]) if rates[False] else float("nan"),
        "on": statistics.median(rates[True]) if rates[True] else float("nan"),
        "pairs": pairs,
    }


def measure_model(
    name: str,
    articles: list[Article],
    langs: list[LanguageInfo],
    budget: float,
    gate: Any,
    repeat: int,
    workdir: Path,
    ab: int,
) -> dict[str, Any]:
    from digest.llm.local import BUNDLED, resolve_model

    chat_format = next(m.chat_format for m in BUNDLED if m.name == name)
    started = time.monotonic()
    path, _ = resolve_model(None, name)
    resolve_s = time.monotonic() - started
    spec = load_prompt("summarize")
    seed = articles[0]
    items = [(a, lang) for a in articles for lang in langs]
    answers: list[dict[str, Any]] = []

    # Both loaded at once (an idle server costs no CPU) so the two paths are measured
    # back to back, alternating: other work on the machine then weighs on both alike.
    server = Server(path, chat_format)
    direct = Direct(path, chat_format, workdir / f"direct-{name}.log")
    tuned = Server(path, chat_format, workdir / f"tuned-{name}.log") if ab else None
    try:
        warm = request(spec, [{"role": "user", "content": "Say hi."}], 1)
        server.ask(warm)  # first-use costs (page faults, grammar set-up) are not the path's
        direct.ask(warm)
        ours_runs, direct_runs, tuned_runs = [], [], []
        if tuned is not None:
            tuned.ask(warm)
        for index in range(repeat):
            # A fresh fence per pair (same length as an article id): no prefix cache helps,
            # and both paths see the same prompt, so they generate the same text.
            fence = seed.id if index == 0 else secrets.token_hex(8)
            params = request(
                spec, spec.render(article=seed, language=langs[0], fence=fence), spec.max_tokens
            )
            ours_runs.append(server.ask(params))
            direct_runs.append(direct.ask(params))
            if tuned is not None:
                tuned_runs.append(tuned.ask(params))
            print(
                f"  {name}: ours {ours_runs[-1]['seconds']:.1f} s, direct "
                f"{direct_runs[-1]['seconds']:.1f} s ({ours_runs[-1]['completion_tokens']} tok)",
                flush=True,
            )
        same_output = all(
            o["content"] == d["content"] for o, d in zip(ours_runs, direct_runs, strict=True)
        )
        logits_ab = logits_all_ab(direct, path, chat_format, workdir, spec, seed, langs[0], ab)
        began = time.monotonic()
        for index, (article, lang) in enumerate(items):
            if index and time.monotonic() - began > budget:
                break
            if index == 0:
                answer = dict(ours_runs[0])  # the seed article in the first language
            else:
                messages = spec.render(article=article, language=lang, fence=article.id)
                answer = server.ask(request(spec, messages, spec.max_tokens))
            answer |= judge(answer, article, lang, gate) | {"lang": lang.code, "id": article.id}
            answers.append(answer)
            print(
                f"  {name} {article.id} {lang.code}: {answer['seconds']:.1f} s, "
                f"{answer['completion_tokens']} tok, gates {'pass' if answer['gates'] else 'FAIL'}"
                f" {answer['failed']}",
                flush=True,
            )
        server_startup, direct_startup = server.startup, direct.startup
    finally:
        server.close()
        direct.close()
        if tuned is not None:
            tuned.close()
    return {
        "model": name,
        "file": path.name,
        "mb": round(path.stat().st_size / 1e6, 1),
        "resolve_s": resolve_s,
        "server_startup_s": server_startup,
        "direct_load_s": direct_startup,
        "ours": speed(ours_runs),
        "direct": speed(direct_runs),
        "same_output": same_output,
        "tuned": speed(tuned_runs) if tuned_runs else None,
        "logits_all_ab": logits_ab,
        "answers": answers,
    }


Counts = dict[str, dict[str, dict[str, int]]]  # model -> language (or "all") -> counts


def gate_table(per_model: dict[str, dict[str, Any]], langs: list[str]) -> tuple[str, Counts]:
    rows = []
    summary: Counts = {}
    for name, data in per_model.items():
        for lang in langs + ["all"]:
            picked = [a for a in data["answers"] if lang in (a["lang"], "all")]
            if not picked:
                continue
            counts = {
                "answers": len(picked),
                "json_valid": sum(a["json"] for a in picked),
                "json_lenient": sum(a["lenient"] for a in picked),
                "schema_valid": sum(a["schema"] for a in picked),
                "passed": sum(a["gates"] for a in picked),
            }
            summary.setdefault(name, {})[lang] = counts
            failed = Counter(f for a in picked for f in a["failed"])
            seconds = sum(a["seconds"] for a in picked) / len(picked)
            tokens = sum(a["completion_tokens"] for a in picked) / len(picked)
            rows.append(
                [name, lang, counts["answers"], counts["json_valid"], counts["json_lenient"],
                 counts["schema_valid"],
                 counts["passed"], f"{counts['passed'] / len(picked):.0%}", round(seconds, 1),
                 round(tokens), ", ".join(f"{k} {v}" for k, v in failed.most_common()) or "-"]
            )  # fmt: skip
    headers = [
        "model", "lang", "answers", "JSON-valid", "JSON if lenient", "schema-valid",
        "gates passed", "pass rate", "s/answer", "completion tok", "failed checks",
    ]  # fmt: skip
    return table(headers, rows), summary


def speed_table(per_model: dict[str, dict[str, Any]]) -> str:
    rows = []
    variants = [
        (n, d, d["ours"], "yes" if d["same_output"] else "no") for n, d in per_model.items()
    ]
    variants += [
        (f"{n} (tuned server*)", d, d["tuned"], "-") for n, d in per_model.items() if d["tuned"]
    ]
    for name, data, ours, same in variants:
        direct = data["direct"]
        rows.append(
            [name, data["mb"], ours["runs"], ours["prompt_tokens"],
             round(ours["prompt_tok_s"], 1), round(direct["prompt_tok_s"], 1),
             ours["completion_tokens"], round(ours["gen_tok_s"], 1), round(direct["gen_tok_s"], 1),
             f"{ours['wall_s']:.2f} ({ours['wall_min_s']:.1f}-{ours['wall_max_s']:.1f})",
             f"{direct['wall_s']:.2f} ({direct['wall_min_s']:.1f}-{direct['wall_max_s']:.1f})",
             f"{(ours['wall_s'] - direct['wall_s']) / direct['wall_s']:+.0%}",
             round(ours["outside_s"], 3), round(direct["outside_s"], 3),
             same,
             round(data["resolve_s"], 1), round(data["server_startup_s"], 1),
             round(data["direct_load_s"], 1)]
        )  # fmt: skip
    headers = [
        "model", "MB", "runs", "prompt tok", "prompt tok/s ours", "prompt tok/s direct",
        "completion tok", "gen tok/s ours", "gen tok/s direct", "answer s ours (min-max)",
        "answer s direct (min-max)", "wall overhead", "s outside llama.cpp ours",
        "s outside llama.cpp direct", "same text", "resolve s", "server start s",
        "direct load s",
    ]  # fmt: skip
    return table(headers, rows)


def pick_winner(summary: Counts, per_model: dict[str, dict[str, Any]]) -> str:
    def key(name: str) -> tuple[float, float, float]:
        total = summary[name]["all"]
        answers = per_model[name]["answers"]
        seconds = sum(a["seconds"] for a in answers) / len(answers)
        return (
            total["passed"] / total["answers"],
            total["schema_valid"] / total["answers"],
            -seconds,
        )

    return max(summary, key=key)


def main() -> None:
    from digest.llm.local import BUNDLED

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seed 000 x en per model")
    parser.add_argument("--models", default=",".join(m.name for m in BUNDLED))
    parser.add_argument("--langs", default=",".join(LANGS))
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds of quality answers per model"
    )
    parser.add_argument(
        "--repeat", type=int, help="speed samples per path, median reported (default 2; quick 1)"
    )
    args = parser.parse_args()
    args.repeat = args.repeat or (1 if args.quick else 2)
    from digest.checks import Gate

    names = [n for n in args.models.split(",") if n]
    lang_codes = ["en"] if args.quick else args.langs.split(",")
    langs = [parse_language(code) for code in lang_codes]
    load_before = load_average()
    started = time.monotonic()
    with isolated_dirs("local") as workdir:
        articles = seed_articles()[: 1 if args.quick else None]
        gate = Gate(langs)
        per_model = {}
        for name in names:
            print(f"{name}:", flush=True)
            per_model[name] = measure_model(
                name,
                articles,
                langs,
                args.budget,
                gate,
                args.repeat,
                workdir,
                ab=0 if args.quick or name != names[0] else 3,
            )
    elapsed = time.monotonic() - started

    speeds = speed_table(per_model)
    if any(d["tuned"] for d in per_model.values()):
        speeds += f"\n\n*tuned server: LocalServer with {TUNING} (not the product's flags)."
    ab_rows = [
        [name, round(d["logits_all_ab"]["off"], 1), round(d["logits_all_ab"]["on"], 1),
         f"{d['logits_all_ab']['on'] / d['logits_all_ab']['off'] - 1:+.0%}",
         d["logits_all_ab"]["pairs"]]
        for name, d in per_model.items()
        if d["logits_all_ab"]
    ]  # fmt: skip
    if ab_rows:
        speeds += (
            "\n\nIn-process prompt tok/s, logits_all off vs on (llama_cpp.server's default is "
            "on; LocalServer does not pass `--logits_all false`):\n\n"
            + table(["model", "logits_all off", "logits_all on", "change", "pairs"], ab_rows)
        )
    gates, summary = gate_table(per_model, lang_codes)
    winner = pick_winner(summary, per_model)
    rate = summary[winner]["all"]
    verdict = (
        f"Winner on these numbers: {winner} (gates passed on the first attempt "
        f"{rate['passed']}/{rate['answers']}, schema-valid "
        f"{rate['schema_valid']}/{rate['answers']}; "
        "ranked by gate pass rate, then schema-valid rate, then speed). The first entry "
        "of digest.llm.local.BUNDLED is the default."
    )
    notes = (
        f"Speed: median of {args.repeat} alternating sample(s) per path after a warm-up "
        "request; tok/s are llama.cpp's own timings (llama_perf_context_print) on both "
        "paths; 'outside llama.cpp' = wall - llama.cpp total (HTTP, JSON, Python). "
        "'JSON if lenient' = parses with json.loads(strict=False) (raw newlines in strings). "
        f"Threads {THREADS}, n_ctx {CTX}, seed {SEED}, temperature/max_tokens/repeat_penalty "
        "from prompts/summarize; first attempts only (the product re-asks up to 2 times). "
        f"Load average before: {load_before}; after: {load_average()} (other work shares "
        f"the 2 cores, so speeds are noisy). Total {elapsed:.0f} s."
    )
    text = "\n\n".join([speeds, gates, verdict, notes])
    print("\n" + text)
    LATEST.write_text(
        json.dumps(
            {
                "date": datetime.now().astimezone().isoformat(timespec="minutes"),
                "commit": git_commit(),
                "machine": machine_line(),
                "quick": args.quick,
                "winner": winner,
                "gate": summary,
                "speed": {
                    n: {"ours": d["ours"], "direct": d["direct"]} for n, d in per_model.items()
                },
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    append_results(
        "local model" + (" (quick)" if args.quick else ""),
        {
            "models": ",".join(names),
            "languages": ",".join(lang_codes),
            "articles": len(articles),
            "budget_s_per_model": args.budget,
        },
        text,
    )


if __name__ == "__main__":
    main()
