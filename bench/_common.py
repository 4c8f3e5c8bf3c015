"""Shared plumbing for the benchmark scripts: machine facts, the RESULTS.md appender,
markdown tables, synthetic articles and Settings pointed at the loopback fake server.

Benchmarks are not tests: they time things, print a table and append a dated section to
bench/RESULTS.md. They only ever talk to 127.0.0.1.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "RESULTS.md"
SEEDS = REPO / "seeds"
SEED = SEEDS / "000_e2a5421fd2ec2f6f.txt"

# The loopback OpenAI-compatible server lives with the tests; benchmarks borrow it.
sys.path.insert(0, str(REPO / "tests"))


# --- machine facts --------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_line() -> str:
    return (
        f"nproc {os.cpu_count()}, RAM {_ram_gib()}, CPU {_cpu_model()}, "
        f"Python {platform.python_version()}, load average {load_average()}"
    )


# --- output ---------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; numbers right-aligned so columns read at a glance."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"
        return str(value).replace("|", "\\|")

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [
        any(isinstance(row[i], int | float) for row in rows)
        and all(isinstance(row[i], int | float) or row[i] == "" for row in rows)
        for i in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("| " + " | ".join("---:" if n else "---" for n in numeric) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def append_results(title: str, params: dict[str, Any], body: str) -> None:
    """Append one dated section to bench/RESULTS.md (never rewrites earlier sections)."""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parameters = ", ".join(f"{k}={v}" for k, v in params.items())
    section = (
        f"\n## {title} — {stamp}\n\n"
        f"- machine: {machine_line()}\n"
        f"- commit: {git_commit()}\n"
        f"- parameters: {parameters}\n\n"
        f"{body.strip()}\n"
    )
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nAppended by the scripts in bench/ (newest last); "
            "see bench/README.md.\n",
            encoding="utf-8",
        )
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(section)
    print(f"\n(appended to {RESULTS.relative_to(REPO)})")


# --- isolation ------------------------------------------------------------------------------


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """These environment variables for the block, the previous ones (or none) after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def isolated_dirs(prefix: str) -> Iterator[Path]:
    """A temp dir, with the user cache/config dirs pointed inside it so a benchmark never
    reads the user's digest.toml or writes to the real cache."""
    with tempfile.TemporaryDirectory(prefix=f"digest-bench-{prefix}-") as tmp:
        root = Path(tmp)
        dirs = {
            "DIGEST_CACHE_DIR": str(root / "user-cache"),
            "DIGEST_CONFIG_DIR": str(root / "user-config"),
        }
        with environ(dirs):
            yield root


def fake_env(base_url: str) -> dict[str, str]:
    """What a user would export to point digest at an endpoint (the key is a dummy)."""
    return {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-bench", "DIGEST_MODEL": "fake-model"}


def run_edition(
    flags: dict[str, Any], languages: list[str], articles: list[Any], latency: float
) -> tuple[Any, float]:
    """The product's edition core (``summarise_edition``) on ``articles`` against a fresh
    loopback server, as a user would point digest at it: (the Digest, wall seconds)."""
    sys.path.insert(0, str(REPO / "tests"))
    from support.openai_server import FakeOpenAI

    from digest.config import load_settings
    from digest.edition import EditionPlan, load_specs, summarise_edition
    from digest.languages import parse_languages

    with isolated_dirs("edition"), FakeOpenAI(latency=latency) as server:
        env = {**os.environ, **fake_env(server.base_url)}
        settings = load_settings(flags, env=env)
        specs = load_specs(settings)
        plan = EditionPlan(
            articles=articles,
            languages=parse_languages(languages),
            prompt=specs.prompt,
            translate=specs.translate,
            verify=specs.verify,
            edition_date=date.today(),
        )
        with environ(fake_env(server.base_url)):  # the client reads OPENAI_* too
            started = time.monotonic()
            digest = summarise_edition(plan, settings)
            return digest, time.monotonic() - started


# --- synthetic articles ---------------------------------------------------------------------


def _shift_numbers(text: str, offset: int) -> str:
    # Every number moves by the article index: a distinct text, so a distinct article id.
    return re.sub(r"\d+", lambda m: str(int(m.group(0)) + offset).zfill(len(m.group(0))), text)


def make_articles(folder: Path, count: int) -> list[Path]:
    """``count`` small article files built from seeds/ (cycled), each with shifted numbers."""
    from digest.ingest.files import load_inputs

    seeds = load_inputs([str(SEEDS)]).articles
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for index in range(count):
        seed = seeds[index % len(seeds)]
        path = folder / f"article_{index:04d}.txt"
        body = _shift_numbers(seed.text, index // len(seeds) + 1)
        path.write_text(f"{seed.title}\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


def seed_articles() -> list[Any]:
    """The seed articles as the product loads them (digest.ingest.files), seed 000 first."""
    from digest.ingest.files import load_inputs

    return load_inputs([str(SEEDS)]).articles
