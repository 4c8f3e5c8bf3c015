"""An editor in the loop: decisions on an edition's items before it is sent, corrections
after, and how both turn the model's answers into what readers get.

``DIR/review.json`` (written atomically, under a lock) keeps every decision and correction,
oldest first, so who did what, when and why is never lost:

    Decision      approve | reject | edit | publish (a withheld answer, with a reason)
    Correction    new text for an item of a sent edition, with a dated note for readers,
                  and who had received the earlier text (from the send log)

The latest decision on an item counts while its ``basis`` (a fingerprint of the model answer
it judged) still matches: when a re-run brings a different answer, the item is undecided
again. Corrections come last and win. ``apply`` is pure; the desk (``digest.desk``) reads
folders, runs the gate and re-renders. The manifest carries the record too, and every result
an editor touched carries an ``EditorMark``: ``undecided`` reads only the manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from digest.errors import InputError, UsageError, file_error, first_error
from digest.fsutil import write_json_atomic
from digest.models import Check, EditorAction, EditorMark, StoryResult, Summary

try:  # POSIX: one writer at a time across processes (preview and `digest correct`)
    import fcntl
except ImportError:  # pragma: no cover - Windows: the preview's own lock still holds
    fcntl = None  # type: ignore[assignment]

REVIEW_FILE = "review.json"
LOCK_FILE = ".review.lock"
Action = Literal["approve", "reject", "edit", "publish"]
ACTIONS: tuple[Action, ...] = ("approve", "reject", "edit", "publish")
_DONE: dict[Action, EditorAction] = {
    "approve": "approved",
    "reject": "rejected",
    "edit": "edited",
    "publish": "published",
}
_SHOWN_UNDECIDED = 5


class Decision(BaseModel):
    article_id: str
    lang: str
    action: Action
    editor: str
    at: datetime
    reason: str = ""
    summary: Summary | None = None  # the editor's text (edit)
    checks: list[Check] = []  # the gate's verdict on the editor's text
    basis: str  # fingerprint of the model answer this decision judged


class Correction(BaseModel):
    article_id: str
    lang: str
    editor: str
    at: datetime
    note: str  # shown to readers: "Corrected on {date}: {note}"
    summary: Summary  # the corrected text
    previous: Summary  # the text readers had received
    checks: list[Check] = []
    reason: str = ""  # why it went out although a check failed (--force)
    recipients: list[str] = []  # who received the earlier text (send-log.jsonl); review.json only
    received_by: int = 0  # how many: what the manifest keeps (it may be published)
    carried_in: date | None = None  # the later edition that repeated it under "Corrections"


class ReviewRecord(BaseModel):
    decisions: list[Decision] = []
    corrections: list[Correction] = []

    def current(self) -> dict[tuple[str, str], Decision]:
        """(article id, lang) -> the latest decision."""
        return {(d.article_id, d.lang): d for d in self.decisions}

    def latest_corrections(self) -> dict[tuple[str, str], Correction]:
        return {(c.article_id, c.lang): c for c in self.corrections}

    def public(self) -> ReviewRecord:
        """The record for the manifest: no subscriber's address, only how many got the text."""
        corrections = [c.model_copy(update={"recipients": []}) for c in self.corrections]
        return self.model_copy(update={"corrections": corrections})

    @property
    def empty(self) -> bool:
        return not self.decisions and not self.corrections


def basis(result: StoryResult) -> str:
    """What a decision judged: the model's status and text, nothing else (not usage)."""
    text = result.summary.model_dump() if result.summary else None
    payload = json.dumps([result.status, text], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def apply(results: Sequence[StoryResult], record: ReviewRecord) -> list[StoryResult]:
    """The model's answers as readers get them once the editor's decisions and corrections
    are applied. An answer without a (still valid) decision is left as the model gave it."""
    current = record.current()
    corrections = record.latest_corrections()
    shown = []
    for result in results:
        key = (result.article_id, result.lang)
        decision = current.get(key)
        if decision is not None and decision.basis == basis(result):
            result = _decided(result, decision)
        correction = corrections.get(key)
        if correction is not None:
            result = _corrected(result, correction)
        shown.append(result)
    return shown


def _decided(result: StoryResult, decision: Decision) -> StoryResult:
    mark = EditorMark(
        action=_DONE[decision.action],
        editor=decision.editor,
        at=decision.at,
        reason=decision.reason,
    )
    update: dict[str, object] = {"editor": mark}
    if decision.action == "reject":
        why = f": {decision.reason}" if decision.reason else ""
        reason = f"rejected by {decision.editor}{why}"
        update.update(status="withheld", summary=None, reason=reason)
    elif decision.action == "edit" and decision.summary is not None:
        update.update(
            status="published", summary=decision.summary, checks=decision.checks, reason=None
        )
    elif decision.action == "publish" and result.summary is not None:
        update.update(status="published", reason=None)
    return result.model_copy(update=update)


def _corrected(result: StoryResult, correction: Correction) -> StoryResult:
    mark = EditorMark(
        action="corrected",
        editor=correction.editor,
        at=correction.at,
        reason=correction.reason,
        note=correction.note,
    )
    return result.model_copy(
        update={
            "status": "published",
            "summary": correction.summary,
            "checks": correction.checks,
            "reason": None,
            "editor": mark,
        }
    )


def undecided(results: Sequence[StoryResult], langs: set[str] | None = None) -> list[StoryResult]:
    """Results (as readers would get them) that no editor has decided on yet."""
    return [r for r in results if r.editor is None and (langs is None or r.lang in langs)]


def require_decided(
    results: Sequence[StoryResult], titles: dict[str, str], langs: set[str], folder: Path
) -> None:
    """``review = "required"``: one UsageError naming the undecided items, or nothing."""
    waiting = undecided(results, langs)
    if not waiting:
        return
    named = "; ".join(
        f"[{r.lang}] {_short(titles.get(r.article_id, r.article_id))}"
        for r in waiting[:_SHOWN_UNDECIDED]
    )
    more = f" and {len(waiting) - _SHOWN_UNDECIDED} more" if len(waiting) > _SHOWN_UNDECIDED else ""
    raise UsageError(
        f'review = "required": {len(waiting)} undecided item(s) in {folder}: {named}{more} '
        f"(decide them in `digest preview {folder} --review`)"
    )


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_record(folder: Path) -> ReviewRecord:
    """``DIR/review.json``, or an empty record when there is none yet."""
    path = folder / REVIEW_FILE
    if not path.is_file():
        return ReviewRecord()
    try:
        return ReviewRecord.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise file_error(path, exc) from None
    except ValidationError as exc:
        raise InputError(f"{path} is not a review record ({first_error(exc)})") from None


def save_record(folder: Path, record: ReviewRecord) -> Path:
    return write_json_atomic(folder / REVIEW_FILE, record.model_dump(mode="json"))


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's review lock: decisions, corrections and re-renders never interleave."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with (folder / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
