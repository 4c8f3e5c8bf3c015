"""Soak: a whole edition against a loopback server that misbehaves on about a quarter of the
tasks, with a fixed mix of faults: 429 with Retry-After, 500, 503, a hang past the timeout,
malformed JSON, cut-off output, an empty answer.

Every fault is one a real endpoint produces and every one is recoverable, so the run must
publish everything and exit 0, and each fault may cost at most two extra calls (it costs
one: a transport retry or a re-ask): calls < tasks + 2 x faults. Timeouts and backoffs are
set small (timeout 1 s, backoff from 0.05 s) so it finishes in a couple of minutes.

    python bench/soak.py              # 60 articles x 3 languages
    python bench/soak.py --quick      # 20 x 3
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any

from _common import append_results, fake_env, isolated_dirs, make_articles, table

from digest.config import load_settings
from digest.errors import DigestError
from digest.pipeline import run_digest

LANGS = ["en", "tr", "de"]
TIMEOUT = 1.0
LABELS = {
    "429": "429 + Retry-After: 1",
    "hang": f"hang past the {TIMEOUT:g} s timeout",
    "raw": "malformed JSON",
    "truncated": "cut off (finish_reason length)",
    "empty": "empty answer",
}


def faults() -> list[Any]:
    from support.openai_server import Fault

    return [
        Fault.status(429, retry_after=1),
        Fault.status(500),
        Fault.status(503),
        Fault.hang(TIMEOUT + 1.5),
        Fault.raw('{"headline": "cut short", "summary": '),  # malformed JSON
        Fault.truncated(),  # cut off at max_tokens
        Fault.empty(),
    ]


class Plan:
    """Every fourth task's first question meets a fault, the kinds in turn: a fixed mix
    (tasks / 4 faults, each kind equally often), whichever tasks arrive in those places.
    Re-asks and capability probes are left alone. Called under the server's lock."""

    def __init__(self) -> None:
        self.questions = 0
        self.mix = faults()

    def __call__(self, body: dict[str, Any]) -> Any:
        messages = body.get("messages") or []
        if len(messages) != 2 or "capability probe" in json.dumps(messages):
            return None
        self.questions += 1
        if self.questions % 4:
            return None
        return self.mix[(self.questions // 4 - 1) % len(self.mix)]


def main() -> None:
    from support.openai_server import FakeOpenAI

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 articles instead of 60")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    articles = 20 if args.quick else 60
    with isolated_dirs("soak") as root:
        inputs = make_articles(root / "articles", articles)
        with FakeOpenAI(latency=0.05) as fake:
            fake.plan = Plan()
            settings = load_settings(
                {
                    "languages": LANGS,
                    "out": root / "out",
                    "no_cache": True,
                    "concurrency": args.concurrency,
                    "timeout": TIMEOUT,
                    "retry_base_delay": 0.05,
                    "retry_max_delay": 2.0,
                },
                env=fake_env(fake.base_url),
            )
            started = time.monotonic()
            code, published, withheld, reason = 0, 0, 0, ""
            try:
                outcome = run_digest([str(p) for p in inputs], settings)
                results = outcome.digest.results
                published = sum(r.status == "published" for r in results)
                withheld = len(results) - published
                code = int(outcome.exit_code)
            except DigestError as exc:
                code, reason = int(exc.exit_code), exc.message
            wall = time.monotonic() - started
            calls, served = fake.all_calls, Counter(fake.planned)
    tasks = articles * len(LANGS)
    injected = sum(served.values())
    bound = tasks + 2 * injected
    ok = code == 0 and published == tasks and calls < bound
    rows = [
        [
            tasks, injected, calls, bound, published, withheld, code, round(wall, 1),
            "OK" if ok else "FAIL",
        ]
    ]  # fmt: skip
    headers = [
        "tasks", "faults", "calls", "tasks + 2 x faults", "published", "withheld", "exit",
        "wall s", "verdict",
    ]  # fmt: skip
    text = table(headers, rows)
    mix = table(["fault", "tasks"], [[LABELS.get(k, k), n] for k, n in sorted(served.items())])
    print("\n" + text + "\n\n" + mix + (f"\n\nerror: {reason}" if reason else ""))
    note = (
        "calls include the capability probe. A hang sleeps past the 1 s timeout, then the "
        "request is sent again; 429 carries Retry-After: 1 (every worker pauses); malformed, "
        "cut-off and empty answers are re-asked with what was wrong."
    )
    append_results(
        "soak" + (" (quick)" if args.quick else ""),
        {
            "articles": articles,
            "languages": ",".join(LANGS),
            "concurrency": args.concurrency,
            "latency_s": 0.05,
            "timeout_s": TIMEOUT,
            "retry_base_delay_s": 0.05,
            "cache": "off",
        },
        text + "\n\n" + mix + "\n\n" + note + (f"\n\nerror: {reason}" if reason else ""),
    )
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
