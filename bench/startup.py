"""Startup: `digest --help` wall time (median of 10 subprocess runs) and a cached no-op run
(the second run of 1 article x 1 language against the loopback fake server, via the CLI).
Target: --help under 0.5 s. When it is slower, `python -X importtime -m digest --help`
names the imports that cost the most.

    python bench/startup.py            # 10 --help runs, 5 cached runs
    python bench/startup.py --quick    # 3 and 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import append_results, fake_env, isolated_dirs, make_articles, table

TARGET_HELP_S = 0.5


def digest_command() -> list[str]:
    script = Path(sys.executable).with_name("digest")
    found = str(script) if script.exists() else shutil.which("digest")
    return [found] if found else [sys.executable, "-m", "digest"]


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    started = time.monotonic()
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    return time.monotonic() - started, done.returncode, done.stdout + done.stderr


def import_costs(
    args: list[str], env: dict[str, str], cwd: Path, top: int = 12
) -> list[list[object]]:
    """Packages by import time, from -X importtime: each time a package is entered from
    another package, that subtree's cumulative time is charged to it (approximate when
    packages import each other in cycles)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    entries = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            depth = (len(match.group(3)) - 1) // 2
            entries.append((depth, match.group(4).split(".")[0], int(match.group(2))))
    charged: dict[str, int] = {}
    stack: list[tuple[int, str]] = []
    for depth, package, cumulative in reversed(entries):  # parents come before children
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if not stack or stack[-1][1] != package:
            charged[package] = charged.get(package, 0) + cumulative
        stack.append((depth, package))
    ranked = sorted(charged.items(), key=lambda item: -item[1])[:top]
    return [[name, round(us / 1000, 1)] for name, us in ranked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--importtime", action="store_true", help="report import costs of --help and of a run"
    )
    args = parser.parse_args()
    help_runs, cached_runs = (3, 2) if args.quick else (10, 5)
    command = digest_command()

    from support.openai_server import FakeOpenAI

    with isolated_dirs("startup") as root, FakeOpenAI(latency=0.4) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DIGEST_"))}
        env |= {"DIGEST_CACHE_DIR": str(root / "c"), "DIGEST_CONFIG_DIR": str(root / "cfg")}
        baseline = [timed([sys.executable, "-c", "pass"], env, root)[0] for _ in range(help_runs)]
        helps = []
        for _ in range(help_runs):
            seconds, code, output = timed(command + ["--help"], env, root)
            if code != 0:
                sys.exit(f"digest --help failed ({code}): {output[-2000:]}")
            helps.append(seconds)

        article = make_articles(root / "articles", 1)[0]
        run_env = env | fake_env(fake.base_url)
        run = command + ["run", str(article), "--lang", "en", "--out", str(root / "out")]
        first, code, output = timed(run, run_env, root)
        if code != 0:
            sys.exit(f"digest run failed ({code}): {output[-2000:]}")
        calls_after_first = fake.chat_calls
        cached = [timed(run, run_env, root)[0] for _ in range(cached_runs)]
        cached_calls = fake.chat_calls - calls_after_first
        manifest = json.loads((root / "out" / "manifest.json").read_text(encoding="utf-8"))
        imports = [
            timed([sys.executable, "-c", "import digest.cli, digest.pipeline"], env, root)[0]
            for _ in range(cached_runs)
        ]
        help_costs = run_costs = []
        if args.importtime or statistics.median(helps) >= TARGET_HELP_S:
            help_costs = import_costs(["-m", "digest", "--help"], env, root)
        if args.importtime:
            run_costs = import_costs(["-c", "import digest.cli, digest.pipeline"], env, root)

    help_median = statistics.median(helps)
    rows = [
        ["python -c pass", len(baseline), round(statistics.median(baseline), 3), ""],
        [
            "digest --help", len(helps), round(help_median, 3),
            "OK" if help_median < TARGET_HELP_S else f"SLOW (target < {TARGET_HELP_S} s)",
        ],
        ["digest run 1x1, first (1 call)", 1, round(first, 3), f"{calls_after_first} call(s)"],
        ["digest run 1x1, cached", len(cached), round(statistics.median(cached), 3),
         f"{cached_calls} call(s) (must be 0)"],
    ]  # fmt: skip
    timings = manifest.get("timings", {})
    rows.append(
        ["  of which: import digest.cli + pipeline", len(imports),
         round(statistics.median(imports), 3), "python -c, includes interpreter start"]
    )  # fmt: skip
    for step in ("load", "endpoint_ready", "summarize", "render", "total"):
        if step in timings:
            rows.append([f"  of which (last cached run's manifest): {step}", 1, timings[step], ""])
    text = table(["what", "runs", "median s", "note"], rows)
    text += (
        "\n\nManifest timings are cumulative for load/endpoint_ready and per step for "
        "summarize/render; in a cached run `summarize` is mostly building the language gate."
    )
    for what, costs in (("digest --help", help_costs), ("a run", run_costs)):
        if costs:
            text += f"\n\nHeaviest packages imported by {what} (-X importtime, one run):\n\n"
            text += table(["package", "ms"], costs)
    print(text)
    append_results(
        "startup" + (" (quick)" if args.quick else ""),
        {"command": " ".join(Path(c).name for c in command), "fake_latency_s": 0.4},
        text,
    )


if __name__ == "__main__":
    main()
