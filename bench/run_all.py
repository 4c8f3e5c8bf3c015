"""Run every benchmark in turn (each appends its own section to bench/RESULTS.md).

    python bench/run_all.py                    # full runs, ~15 min on 2 cores
    python bench/run_all.py --quick            # smoke runs, ~3 min
    python bench/run_all.py --only render,cache

local_model runs before strategy, which quotes its gate pass rates.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = [
    "startup", "render", "cache", "throughput", "pacing", "soak", "local_model", "strategy",
    "faithfulness", "fetch",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(ORDER))
    args = parser.parse_args()
    wanted = [n for n in args.only.split(",") if n] or ORDER
    unknown = sorted(set(wanted) - set(ORDER))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(ORDER)})")
    failed = []
    for name in [n for n in ORDER if n in wanted]:
        command = [sys.executable, str(BENCH / f"{name}.py")] + (["--quick"] if args.quick else [])
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.run(command, check=False).returncode
        print(f"=== {name}: exit {code}, {time.monotonic() - started:.0f} s ===", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
