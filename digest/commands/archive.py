"""``digest archive``: a static, searchable site over every dated edition (library:
digest.output.archive)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest.commands.common import ConfigOption, flags, notice
from digest.config import load_settings


def archive(
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="The --out folder of `digest daily` (YYYY-MM-DD/ inside)."
        ),
    ],
    site: Annotated[
        Path,
        typer.Option(
            "--site",
            metavar="DIR",
            help="Where to build the site (new, empty or an earlier archive).",
        ),
    ],
    site_url: Annotated[
        str | None,
        typer.Option(
            "--site-url",
            metavar="URL",
            help="Where the site is published: feed links and ids [config: site_url].",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Build a static archive of every dated edition: a page per edition and language,
    an index, Atom and JSON feeds per language, and full-text search (Pagefind).

    \b
    Examples:
      digest archive briefings/ --site public/
      digest archive briefings/ --site public/ --site-url https://news.example.org/archive/
      python -m http.server -d public/ 8000      # then open http://127.0.0.1:8000/

    \b
    Every language gets its own pages (lang/dir set, right-to-left for ar, fa, he, ur)
    and its own search index. Search runs in the browser from static files, so serve the
    folder over HTTP (any static host); file:// cannot load the index. The site is rebuilt
    whole each time and swapped in at the end; DIR must be new, empty or an earlier archive.

    \b
    Exit codes: 0 built, 2 bad input (no editions, DIR not an archive), 3 built but some
    dated folders were skipped (unfinished or unreadable), 1 Pagefind failed.
    """
    settings = load_settings(flags(site_url=site_url), config)
    from digest.output.archive import build_archive  # lazy: keeps `digest --help` fast

    report = build_archive(
        out, site, site_url=settings.site_url, notice=lambda m: notice(f"warning: {m}")
    )
    print(report.summary())
    if report.exit_code:
        raise typer.Exit(int(report.exit_code))
