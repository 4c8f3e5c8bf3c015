"""`digest daily`: the day's feeds, pages and folders in, one dated multilingual edition out."""

from __future__ import annotations

from datetime import date
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
from digest.errors import UsageError
from digest.sections import SourceConfig

if TYPE_CHECKING:  # feeds, httpx, openai & co: imported when an edition starts, not for --help
    from digest.daily import DailyOutcome


def daily(
    feed: Annotated[
        list[str] | None,
        typer.Option(
            "--feed", metavar="URL_OR_FILE", help="RSS/Atom feed URL or file (repeatable)."
        ),
    ] = None,
    url: Annotated[
        list[str] | None, typer.Option("--url", metavar="URL", help="Article URL (repeatable).")
    ] = None,
    folder: Annotated[
        list[str] | None,
        typer.Option("--folder", metavar="DIR", help="Folder of article files (repeatable)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="SPAN", help="Time window: 24h, 36h, 2d ... [default: 24h]"
        ),
    ] = None,
    max_stories: Annotated[
        int | None,
        typer.Option(
            "--max-stories", metavar="N", help="Most stories in the edition [default: 20]."
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", "-l", help="Languages, BCP-47, comma-separated.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Editions folder (one subfolder per day).")
    ] = None,
    edition_date: Annotated[
        str | None,
        typer.Option(
            "--date",
            metavar="YYYY-MM-DD",
            help="Edition date YYYY-MM-DD; the window ends at its midnight.",
        ),
    ] = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="Send uncached summaries through the Batch API.")
    ] = False,
    model: ModelOption = None,
    model_file: ModelFileOption = None,
    base_url: BaseUrlOption = None,
    strategy: StrategyOption = None,
    verify: VerifyOption = False,
    evidence: EvidenceOption = False,
    config: ConfigOption = None,
) -> None:
    """Build today's edition from feeds, URLs and folders (config [[sources]] plus flags)
    into OUT/<YYYY-MM-DD>/: Markdown, email HTML and text per language, with an
    "in brief" overview.

    Articles come from the time window (--since back from now, or from the end of --date;
    undated ones are kept). Copies (same URL, nearly the same text) count once; reports of
    one event from several outlets, in any language, become one story summarised from all
    of them, its sources listed and where they give different figures or names shown. A
    story continuing one of the last days' editions is marked as an update; one with
    nothing new is left out. Stories from more outlets rank higher, then the freshest;
    sections come from a short list ([daily] sections), lone ones go to "More news".
    Feeds and pages are fetched conditionally (ETag / Last-Modified), at most 2 at once
    per host; a page that cannot be fetched is skipped with a warning (the feed's own text
    is used if it is long enough). Re-running the same day uses the cache: no new LLM
    calls. Relative feed and folder paths in the config file are read from the config
    file's folder; out (in the file or --out), --feed and --folder are relative to the
    current directory.

    Exit codes: 0 all published, 3 some items withheld or sources skipped, 2 bad input or
    usage, 4 endpoint failure.

    Examples:

    \b
      digest daily --config digest.toml
      digest daily --feed https://example.org/rss.xml --feed feeds/local.xml -l en,tr,ar
      digest daily --url https://example.org/story.html --folder inbox/ --since 36h
      digest daily --config digest.toml --date 2025-03-14 --out editions
      digest daily --config digest.toml --batch    # OpenAI Batch API: cheaper, slower
    """
    settings = load_settings(
        flags(
            languages=lang.split(",") if lang else None,
            out=out,
            since=since,
            max_stories=max_stories,
            model=model,
            model_file=model_file,
            base_url=base_url,
            strategy=strategy,
            verify=verify,
            evidence=evidence,
        ),
        config,
    )
    extra = [SourceConfig(feed=f) for f in feed or []]
    extra += [SourceConfig(urls=list(url))] if url else []
    extra += [SourceConfig(folder=f) for f in folder or []]
    from digest.daily import run_daily

    with ProgressBar() as bar:
        outcome = run_daily(
            settings,
            # [[sources]] come only from the config file, resolved against its folder.
            [*settings.daily.sources, *extra],
            edition_date=_parse_date(edition_date),
            batch=batch,
            notice=notice,
            progress=bar.advance,
            on_start=bar.start,
        )
    print_summary(outcome)
    raise typer.Exit(int(outcome.exit_code))


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"cannot read --date {text!r} (use YYYY-MM-DD)") from None


def print_summary(outcome: DailyOutcome) -> None:
    digest, stats = outcome.digest, outcome.stats
    report_withheld(digest)
    batch = f", batch {stats.batch_id}" if stats.batch_id else ""
    earlier = f", {stats.repeats} already published" if stats.repeats else ""
    earlier += f", {stats.updates} update(s)" if stats.updates else ""
    fetched = (
        f"; {stats.requests} request(s), {stats.not_modified} unchanged (304)"
        if stats.requests
        else ""
    )
    print(
        f"edition {digest.edition_date.isoformat()}: kept {stats.kept} of {stats.found} "
        f"stories ({stats.duplicates} duplicate(s), {stats.merged} merged into multi-source "
        f"stories, {stats.outside_window} outside the window, {stats.over_limit} over the "
        f"limit{earlier}; grouped {stats.method}), {stats.skipped} source(s) skipped"
        f"{fetched}; wrote {len(outcome.files)} file(s) in {len(digest.languages)} "
        "language(s) to " + outcome_text(digest, outcome.out_dir, extra=batch)
    )
