"""The editor's desk: one edition folder, its decisions and corrections, re-rendered at once.

The edition keeps beside its files what an editor's changes are checked and rebuilt from,
in ``DIR/desk.json`` (``write_desk``):

* the cleaned article text each summary was made from: an edited or corrected text goes
  through the same gate as model output (numbers and names must stand in the source), and
  the source itself may be a page or feed that has changed since, or stdin. Editions written
  before desk.json existed fall back to re-reading a local source file, used only when its
  text still hashes to the article's id.
* every answer the model gave, withheld ones included: the manifest holds what readers got
  (and never a withheld text), so going back on a decision needs the original.

desk.json is for the desk only: never mailed, never served by the preview.

``Desk(folder)`` reads manifest.json, desk.json and review.json. ``decide`` and ``correct``
validate and check first, then, under the folder's lock, append to review.json and
``publish``: Markdown, HTML, text and index.html again, from the model's answers with the
record applied, and the manifest last.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from digest.answers import SummaryAnswer
from digest.checks import Gate, passed
from digest.delivery.subscribers import one_line
from digest.errors import DigestError, InputError, UsageError, file_error, first_error
from digest.fsutil import write_json_atomic
from digest.manifest import ArticleRef, Manifest
from digest.models import Check, Digest, LanguageInfo, StoryResult, Summary
from digest.output.render import render_digest
from digest.review import (
    Action,
    Correction,
    Decision,
    ReviewRecord,
    apply,
    basis,
    load_record,
    locked,
    save_record,
)

DESK_FILE = "desk.json"
_GATES: dict[tuple[str, ...], Gate] = {}


class DeskFile(BaseModel):
    articles: dict[str, str] = {}  # article id -> the cleaned text the model was given
    answers: list[StoryResult] = []  # every answer as the model gave it and the gate judged it


def write_desk(digest: Digest, folder: Path) -> Path:
    """Called by the edition with the model's own answers, before anything is applied."""
    data = DeskFile(articles={a.id: a.text for a in digest.articles}, answers=digest.results)
    return write_json_atomic(folder / DESK_FILE, data.model_dump(mode="json"))


def default_editor() -> str:
    """``--editor``, else ``editor`` in the config, else the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "editor"


def editor_text(headline: str, summary: str, points: list[str]) -> Summary:
    """An editor's text in the shape the model must answer; one UsageError if it is not."""
    try:
        return SummaryAnswer(
            headline=one_line(headline),
            summary=" ".join(summary.split()),
            key_points=[one_line(p) for p in points if p.strip()],
        ).to_summary()
    except ValidationError as exc:
        raise UsageError(f"the text does not fit: {first_error(exc)}") from None


def failures(checks: list[Check]) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in checks if c.status == "fail")


def gate_for(languages: list[LanguageInfo]) -> Gate:
    """One gate per set of languages per process (the language identifier loads once)."""
    key = tuple(lang.code for lang in languages)
    if key not in _GATES:
        _GATES[key] = Gate(languages)
    return _GATES[key]


class Desk:
    """One edition folder at the editor's desk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._load()

    def _load(self) -> None:
        self.manifest = Manifest.load(self.folder)
        self.record = load_record(self.folder)
        self.desk = self._read_desk()

    def _read_desk(self) -> DeskFile:
        path = self.folder / DESK_FILE
        if not path.is_file():
            # An edition from before the desk: its manifest still holds the model's answers
            # (nobody could have decided yet), without withheld texts or article texts.
            desk = DeskFile(answers=self.manifest.results)
            write_json_atomic(path, desk.model_dump(mode="json"))
            return desk
        try:
            return DeskFile.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise file_error(path, exc) from None
        except ValidationError as exc:
            raise InputError(f"{path} is not a desk file ({first_error(exc)})") from None

    # --- what is on the desk --------------------------------------------------------------

    @property
    def answers(self) -> list[StoryResult]:
        return self.desk.answers

    def article(self, ref: str) -> ArticleRef:
        """An article by id, or by an unambiguous start of one (at least 4 characters)."""
        exact = [a for a in self.manifest.articles if a.id == ref]
        found = exact or [
            a for a in self.manifest.articles if len(ref) >= 4 and a.id.startswith(ref)
        ]
        if len(found) != 1:
            what = "matches several stories" if found else "is no story"
            raise UsageError(f"{ref!r} {what} in {self.folder} (see its manifest.json)")
        return found[0]

    def language(self, code: str) -> LanguageInfo:
        for lang in self.manifest.languages:
            if lang.code == code:
                return lang
        have = ", ".join(self.manifest.codes())
        raise UsageError(f"{self.folder} has no language {code!r} (it has {have})")

    def answer(self, article_id: str, lang: str) -> StoryResult:
        for result in self.answers:
            if result.article_id == article_id and result.lang == lang:
                return result
        raise UsageError(f"no answer for story {article_id} in {lang} in {self.folder}")

    def shown(self, article_id: str, lang: str) -> StoryResult | None:
        """The item as readers get it now (the manifest's result)."""
        return next(
            (r for r in self.manifest.results if r.article_id == article_id and r.lang == lang),
            None,
        )

    def recipients(self, lang: str, before: datetime | None = None) -> list[str]:
        """Who the send log says received this edition in ``lang`` (before ``before``)."""
        from digest.delivery.mail import received  # the send log's reader lives with mail

        return received(self.folder, self.manifest.key, lang, before=before)

    def article_text(self, article: ArticleRef) -> str:
        text = self.desk.articles.get(article.id) or _reread(article)
        if not text:
            raise UsageError(
                f"cannot check a new text for {article.id}: its article text is not in "
                f"{self.folder / DESK_FILE} (re-run the edition to write it)"
            )
        return text

    def check(self, article: ArticleRef, lang: str, summary: Summary) -> list[Check]:
        """The gate model output passes, on an editor's text."""
        return gate_for(self.manifest.languages).check(
            summary.fields(),
            source_text=self.article_text(article),
            source_lang=article.source_lang,
            lang=self.language(lang),
        )

    # --- changes ----------------------------------------------------------------------------

    def decide(
        self,
        article_id: str,
        lang: str,
        action: Action,
        *,
        editor: str,
        reason: str = "",
        summary: Summary | None = None,
        now: datetime | None = None,
    ) -> Decision:
        """Record one decision and re-render; a UsageError (nothing recorded) when the
        decision does not fit the item or an edited text fails the gate without a reason."""
        article = self.article(article_id)
        self.language(lang)
        answer = self.answer(article.id, lang)
        if self.recipients(lang):
            raise UsageError(
                f"the {lang} edition was sent already: correct the story instead "
                f"(`digest correct {self.folder} --story {article.id} --lang {lang} ...`)"
            )
        reason = one_line(reason)
        checks: list[Check] = []
        if action == "approve" and answer.status != "published":
            raise UsageError("a withheld summary cannot be approved: publish it with a reason")
        if action == "publish":
            if answer.status == "published":
                raise UsageError("this summary is published already: approve it")
            if answer.summary is None:
                raise UsageError("the model gave no text to publish: edit it instead")
            if not reason:
                raise UsageError("publishing a withheld summary needs a reason")
        if action == "edit":
            if summary is None:
                raise UsageError("an edit needs its text")
            checks = self.check(article, lang, summary)
            if not passed(checks) and not reason:
                raise UsageError(
                    f"the edited text fails the checks ({failures(checks)}); "
                    "fix it, or give a reason to publish it anyway"
                )
        decision = Decision(
            article_id=article.id,
            lang=lang,
            action=action,
            editor=one_line(editor) or default_editor(),
            at=now or _now(),
            reason=reason,
            summary=summary if action == "edit" else None,
            checks=checks,
            basis=basis(answer),
        )
        self._commit(lambda record: record.decisions.append(decision))
        return decision

    def correct(
        self,
        article_ref: str,
        lang: str,
        *,
        editor: str,
        note: str,
        headline: str | None = None,
        summary: str | None = None,
        points: list[str] | None = None,
        force: str = "",
        now: datetime | None = None,
    ) -> Correction:
        """Correct an item of a sent edition: new text, a dated note for readers, and who
        received the earlier text (the send log). Then re-render the archive copy."""
        article = self.article(article_ref)
        self.language(lang)
        current = self.shown(article.id, lang)
        if current is None or current.status != "published" or current.summary is None:
            raise UsageError(f"story {article.id} was not published in {lang}: nothing to correct")
        note = one_line(note)
        if not note:
            raise UsageError("a correction needs a note for readers (--note)")
        before = current.summary
        text = editor_text(
            headline if headline is not None else before.headline,
            summary if summary is not None else before.summary,
            points if points else before.key_points,
        )
        if text == before:
            raise UsageError("the correction changes nothing in the text")
        when = now or _now()
        recipients = self.recipients(lang, before=when)
        if not recipients:
            raise UsageError(
                f"nobody has received the {lang} edition in {self.folder} yet: change it with "
                f"`digest preview {self.folder} --review` instead"
            )
        checks = self.check(article, lang, text)
        if not passed(checks) and not one_line(force):
            raise UsageError(
                f"the corrected text fails the checks ({failures(checks)}); "
                "fix it, or give --force REASON to publish it anyway"
            )
        correction = Correction(
            article_id=article.id,
            lang=lang,
            editor=one_line(editor) or default_editor(),
            at=when,
            note=note,
            summary=text,
            previous=before,
            checks=checks,
            reason=one_line(force),
            recipients=recipients,
            received_by=len(recipients),
        )
        self._commit(lambda record: record.corrections.append(correction))
        return correction

    def _commit(self, change: Callable[[ReviewRecord], None]) -> None:
        with locked(self.folder):
            self._load()  # whatever another writer did in the meantime
            change(self.record)
            save_record(self.folder, self.record)
            self.publish()

    def publish(self) -> None:
        """Every file again from the model's answers with the record applied; manifest last."""
        model = self.model_digest()
        shown = model.model_copy(update={"results": apply(model.results, self.record)})
        report = render_digest(shown, self.folder)
        warnings = list(dict.fromkeys([*shown.warnings, *report.warnings]))
        self.manifest = Manifest.of(
            shown.model_copy(update={"warnings": warnings}),
            title=report.title,
            titles=report.titles,
            review=self.record,
        )
        self.manifest.write(self.folder)

    def model_digest(self) -> Digest:
        """The edition as the model answered it, rebuilt from the manifest and desk.json."""
        return self.manifest.as_digest(texts=self.desk.articles, results=self.answers)


def _now() -> datetime:
    return datetime.now(UTC)


def _reread(article: ArticleRef) -> str | None:
    """A local source file's text, if it still cleans to the very text summarised."""
    if not Path(article.source).is_file():
        return None
    from digest.ingest.files import load_inputs  # trafilatura & co: only for old editions

    try:
        loaded = load_inputs([article.source])
    except DigestError:
        return None
    return next((a.text for a in loaded.articles if a.id == article.id), None)
