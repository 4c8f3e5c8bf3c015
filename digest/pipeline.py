"""`digest run`, top to bottom: inputs -> articles -> one edition (summarised, checked,
written). No printing here: the CLI reports what comes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import BinaryIO

from digest.config import Settings
from digest.edition import (
    EditionOutcome,
    EditionPlan,
    load_specs,
    summarise_edition,
    write_edition,
)
from digest.errors import UsageError
from digest.ingest.files import load_inputs
from digest.languages import parse_languages
from digest.summarize import Progress

Notice = Callable[[str], None]


def run_digest(
    inputs: list[str],
    settings: Settings,
    *,
    stdin: BinaryIO | None = None,
    notice: Notice = lambda _m: None,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> EditionOutcome:
    """Everything a user asked for, or a DigestError before anything is paid or written."""
    started = time.monotonic()
    languages = parse_languages(settings.languages)
    specs = load_specs(settings)
    if settings.out.exists() and not settings.out.is_dir():
        raise UsageError(f"--out {settings.out} exists and is not a folder")
    loaded = load_inputs(inputs, stdin=stdin, max_tokens=settings.max_article_tokens)
    for warning in loaded.warnings:
        notice(warning)
    loaded_at = time.monotonic() - started

    plan = EditionPlan(
        articles=loaded.articles,
        languages=languages,
        edition_date=date.today(),
        prompt=specs.prompt,
        translate=specs.translate,
        verify=specs.verify,
    )
    digest = summarise_edition(plan, settings, notice=notice, progress=progress, on_start=on_start)
    digest.warnings = [*loaded.warnings, *digest.warnings]
    digest.timings = {"load": round(loaded_at, 3), **digest.timings}
    return write_edition(digest, settings.out, started=started)
