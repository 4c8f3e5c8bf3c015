"""`digest run`: articles in, a checked multilingual digest out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from digest.commands.common import (
    BaseUrlOption,
    ConfigOption,
    EvidenceOption,
    ModelFileOption,
    ModelOption,
    ProgressBar,
    StrategyOption,
    VerifyOption,
    flags,
    notice,
    outcome_text,
    report_withheld,
)
from digest.config import load_settings

if TYPE_CHECKING:  # the pipeline pulls in openai & co: imported when a run starts, not for --help
    from digest.edition import EditionOutcome

EXAMPLES = """Examples:

\b
  digest run seeds/ --lang en,tr,ar,de --out digest-out
  digest run article.html notes.md --lang pt-BR --prompt summarize@1
  curl -s https://example.org/story.html | digest run - --lang de
  OPENAI_BASE_URL=http://localhost:11434/v1 digest run seeds/ -l en,fr -m llama3.1
"""


def run(
    inputs: Annotated[
        list[str], typer.Argument(help="Article files (.txt .md .html), folders, or - for stdin.")
    ],
    lang: Annotated[
        str | None, typer.Option("--lang", "-l", help="Languages, BCP-47, comma-separated.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
    model: ModelOption = None,
    model_file: ModelFileOption = None,
    base_url: BaseUrlOption = None,
    strategy: StrategyOption = None,
    verify: VerifyOption = False,
    evidence: EvidenceOption = False,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="Prompt name[@version], default latest.")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Edition title.")] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", help="Parallel LLM calls.")
    ] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="Cache file (SQLite).")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the cache.")
    ] = False,
    retry_withheld: Annotated[
        bool, typer.Option("--retry-withheld", help="Ask again for items withheld last time.")
    ] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Stop asking past this many tokens.")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", help="Stop asking past this cost (needs prices).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Summarise articles into Markdown, email HTML and text, one set per language.

    Exit codes: 0 all published, 3 some items withheld by the checks or shown in the
    article's language instead, 2 bad input or usage, 4 endpoint failure.
    """
    settings = load_settings(
        flags(
            languages=lang.split(",") if lang else None,
            out=out,
            model=model,
            model_file=model_file,
            base_url=base_url,
            strategy=strategy,
            verify=verify,
            evidence=evidence,
            prompt=prompt,
            title=title,
            concurrency=concurrency,
            cache=cache,
            no_cache=no_cache,
            retry_withheld=retry_withheld,
            max_tokens=max_tokens,
            max_cost=max_cost,
        ),
        config,
    )
    from digest.pipeline import run_digest

    with ProgressBar() as bar:
        outcome = run_digest(
            inputs,
            settings,
            stdin=sys.stdin.buffer if "-" in inputs else None,
            notice=notice,
            progress=bar.advance,
            on_start=bar.start,
        )
    print_summary(outcome)
    raise typer.Exit(int(outcome.exit_code))


def print_summary(outcome: EditionOutcome) -> None:
    digest = outcome.digest
    report_withheld(digest)
    print(
        f"wrote {len(digest.languages)} language(s) x {len(digest.articles)} article(s) to "
        + outcome_text(digest, outcome.out_dir)
    )
