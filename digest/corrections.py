"""Corrections travel forward: the next dated edition under the same OUT repeats the
corrections made to earlier ones, under "Corrections", once.

``pending`` finds, in the dated folders before an edition (``OUT/YYYY-MM-DD/``), every
correction in review.json not yet carried by another edition (a re-run of the carrying
edition finds its own again). ``mark_carried`` records, after the edition is written, which
edition carried them: in the earlier folder's review.json and its manifest's copy.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from digest.errors import DigestError
from digest.manifest import Manifest
from digest.models import CarriedCorrection
from digest.review import REVIEW_FILE, load_record, locked, save_record


def earlier_editions(editions: Path, day: date) -> list[Path]:
    """The dated edition folders in ``editions`` before ``day``, oldest first."""
    found: list[tuple[date, Path]] = []
    try:
        children = list(editions.iterdir())
    except OSError:
        return []
    for child in children:
        try:
            when = date.fromisoformat(child.name)
        except ValueError:
            continue
        if when < day and child.is_dir():
            found.append((when, child))
    return [path for _, path in sorted(found)]


def pending(editions: Path, day: date) -> tuple[list[CarriedCorrection], list[str]]:
    """Corrections the edition of ``day`` carries, and warnings for folders it could not read."""
    carried: list[CarriedCorrection] = []
    warnings: list[str] = []
    for folder in earlier_editions(editions, day):
        try:
            record = load_record(folder)
            if not record.corrections:
                continue
            manifest = Manifest.load(folder)
        except DigestError as exc:
            warnings.append(f"corrections in {folder} not carried: {exc.message}")
            continue
        articles = {a.id: a for a in manifest.articles}
        for correction in record.corrections:
            if correction.carried_in not in (None, day):
                continue
            article = articles.get(correction.article_id)
            carried.append(
                CarriedCorrection(
                    edition_date=manifest.edition_date,
                    article_id=correction.article_id,
                    lang=correction.lang,
                    headline=correction.summary.headline,
                    source_title=article.title if article else correction.article_id,
                    url=article.url if article else None,
                    note=correction.note,
                    corrected_at=correction.at,
                    editor=correction.editor,
                )
            )
    return carried, warnings


def mark_carried(editions: Path, carried: list[CarriedCorrection], day: date) -> None:
    """Record in each earlier edition that the edition of ``day`` carried its corrections."""
    keys = {(c.article_id, c.lang, c.corrected_at) for c in carried}
    for folder in earlier_editions(editions, day):
        if not (folder / REVIEW_FILE).is_file():
            continue
        with locked(folder):
            record = load_record(folder)
            changed = False
            for correction in record.corrections:
                key = (correction.article_id, correction.lang, correction.at)
                if key in keys and correction.carried_in is None:
                    correction.carried_in = day
                    changed = True
            if not changed:
                continue
            save_record(folder, record)
            manifest = Manifest.load(folder)
            manifest.model_copy(update={"review": record.public()}).write(folder)
