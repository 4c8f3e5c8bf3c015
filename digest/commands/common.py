"""Options and output helpers shared by commands (so every command spells them the same)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

if TYPE_CHECKING:
    from digest.models import Digest, StoryResult

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: ./digest.toml or [tool.digest])."),
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model name at the endpoint [env: DIGEST_MODEL]."),
]
ModelFileOption = Annotated[
    Path | None,
    typer.Option("--model-file", help="Run this GGUF locally instead of the bundled model."),
]
StrategyOption = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        help="pivot: summarise in the article's language, translate the checked summary "
        "[default]; direct: summarise in every language.",
    ),
]
VerifyOption = Annotated[
    bool, typer.Option("--verify", help="Verifier pass: one more call per summary.")
]
EvidenceOption = Annotated[
    bool, typer.Option("--evidence", help="Footnotes quoting each claim's source sentences.")
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint URL [env: OPENAI_BASE_URL]."),
]


def notice(message: str) -> None:
    """Status lines go to stderr so stdout stays clean for the summary."""
    print(f"digest: {message}", file=sys.stderr, flush=True)


def report_withheld(digest: Digest) -> None:
    """One stderr line per item not published as asked: withheld (and why), or shown in the
    article's own language or as an extract instead (and why)."""
    titles = {a.id: a.title for a in digest.articles}
    for result in digest.results:
        title = titles.get(result.article_id, "?")[:60]
        if result.status == "withheld":
            notice(f"withheld [{result.lang}] {title}: {(result.reason or '')[:160]}")
        elif result.origin == "source-language":
            notice(f"[{result.lang}] {title}: shown in {result.shown_lang}: {result.note}"[:240])
        elif result.origin == "extract":
            notice(f"[{result.lang}] {title}: extract shown: {result.note}"[:240])


def outcome_text(digest: Digest, out_dir: Path, extra: str = "") -> str:
    """The common tail of a run's summary line: where, what was published, what it cost."""
    published = sum(r.status == "published" for r in digest.results)
    fallback = digest.fallback_count()
    shown = f" ({fallback} in the article's language)" if fallback else ""
    usage = digest.usage
    cost = f", cost {usage.cost:.4f}" if usage.cost is not None else ""
    return (
        f"{out_dir}/ (open {out_dir / 'index.html'}); "
        f"published {published}{shown}, withheld {digest.withheld_count()}; "
        f"{usage.calls} LLM call(s), {usage.prompt_tokens} tokens in / "
        f"{usage.completion_tokens} out{cost}{extra}, {digest.cache_hits} cache hit(s), "
        f"{digest.timings.get('total', 0):.1f} s"
    )


def flags(**values: Any) -> dict[str, Any]:
    """Only the flags the user gave; None means 'not given, let lower layers decide'."""
    return {k: v for k, v in values.items() if v is not None and v is not False}


class ProgressBar:
    """article x language progress on a terminal; silent when stdout is piped."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int) -> None:
        if sys.stdout.isatty() and total > 1:
            self._bar = click.progressbar(length=total, label="summarising", file=sys.stdout)
            self._bar.__enter__()

    def advance(self, _result: StoryResult) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
