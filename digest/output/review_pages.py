"""The review page of ``digest preview --review``: every story in every language, with what
the model wrote, what the checks said, what readers get now, and the editor's forms.

``ReviewSession`` is the write side's security in one place: a random per-session token
that every POST must carry (checked in constant time), an Origin that must be this very
server (so no other site, and no sandboxed or privacy-stripped page, can post), only
url-encoded bodies of bounded size, and the editor's name fixed by the command line, never
taken from a form. The page itself is an autoescaped template with no script but the
nonce'd reload one; article and model text are shown as text.

``handle`` turns one form into one desk call (digest.desk): a decision before a language
is sent, a correction after (the send log says who received it).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from http import HTTPStatus
from io import BufferedIOBase
from pathlib import Path
from urllib.parse import parse_qs

from digest.desk import Desk, editor_text
from digest.errors import DigestError, UsageError
from digest.models import Check, EditorMark, Summary, safe_url
from digest.output.text import display_line
from digest.review import ACTIONS, basis

MAX_FORM_BYTES = 64_000
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class ReviewSession:
    editor: str
    required: bool = False  # review = "required": `digest send` refuses undecided items
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def token_ok(self, form: dict[str, str]) -> bool:
        return hmac.compare_digest(form.get("token", "").encode(), self.token.encode())


class PostRefused(Exception):
    """A POST that is not the review page's own: refused before the desk is touched."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_post(
    headers: Message, body: BufferedIOBase, session: ReviewSession, origins: set[str]
) -> dict[str, str]:
    """The form of a POST from this server's own review page, or ``PostRefused``.

    Browsers send Origin with every POST; it must be this server (``origins``), and a
    Sec-Fetch-Site, when sent, must say same-origin. Then a url-encoded body of bounded
    size, carrying the session's token."""
    site = headers.get("Sec-Fetch-Site")
    origin = (headers.get("Origin") or "").lower()
    if origin not in origins or site not in (None, "same-origin"):
        raise PostRefused(HTTPStatus.FORBIDDEN, "cross-site request refused")
    length = headers.get("Content-Length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise PostRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form missing or too large")
    form = parse_form(headers.get("Content-Type"), body.read(int(length)))
    if form is None:
        raise PostRefused(HTTPStatus.BAD_REQUEST, "expected a url-encoded form")
    if not session.token_ok(form):
        raise PostRefused(
            HTTPStatus.FORBIDDEN, "missing or stale session token: reload the review page"
        )
    return form


def parse_form(content_type: str | None, body: bytes) -> dict[str, str] | None:
    """The first value of each field of a url-encoded form; None if it is not one."""
    if (content_type or "").split(";")[0].strip().lower() != FORM_TYPE:
        return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=40)
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[0] for key, values in fields.items()}


@dataclass
class Draft:
    """What the edit form shows: the text as it stands, or what the editor just sent."""

    headline: str = ""
    summary: str = ""
    points: str = ""


@dataclass
class ItemView:
    anchor: str
    article_id: str
    lang: str
    lang_name: str
    dir: str
    title: str
    url: str | None
    state: str  # css class: undecided, approved, rejected, edited, published, corrected
    state_line: str
    shown: bool  # readers get this text
    text: Summary | None  # the text as readers get it, else the model's withheld draft
    checks: list[Check]
    reason: str
    model_published: bool
    has_draft: bool
    sent: bool
    draft: Draft
    error: str = ""


@dataclass
class ReviewView:
    title: str
    edition_date: str
    editor: str
    required: bool
    undecided: int
    items: list[ItemView]
    token: str


def review_view(
    folder: Path,
    session: ReviewSession,
    error: tuple[str, str, str] | None = None,
    sent: dict[str, str] | None = None,
) -> ReviewView:
    """``error``: (anchor, message, action) of a refused form; ``sent``: its fields, shown again."""
    desk = Desk(folder)
    m = desk.manifest
    current = desk.record.current()
    received = {code for code in m.codes() if desk.recipients(code)}
    names = {lang.code: lang for lang in m.languages}
    items = []
    for article in m.articles:
        for code in m.codes():
            answer = next(
                (r for r in desk.answers if r.article_id == article.id and r.lang == code), None
            )
            shown = desk.shown(article.id, code)
            if answer is None or shown is None:
                continue
            decision = current.get((article.id, code))
            stale = decision is not None and decision.basis != basis(answer)
            text = shown.summary if shown.status == "published" else answer.summary
            anchor = f"item-{article.id}-{code}"
            draft = Draft(
                headline=text.headline if text else "",
                summary=text.summary if text else "",
                points="\n".join(text.key_points) if text else "",
            )
            message = ""
            if error and error[0] == anchor:
                message = error[1]
                if sent and error[2] in ("edit", "correct"):
                    draft = Draft(
                        sent.get("headline", ""), sent.get("summary", ""), sent.get("points", "")
                    )
            items.append(
                ItemView(
                    anchor=anchor,
                    article_id=article.id,
                    lang=code,
                    lang_name=names[code].english_name,
                    dir="rtl" if names[code].rtl else "ltr",
                    title=display_line(article.title),
                    url=safe_url(article.url),
                    state=shown.editor.action if shown.editor else "undecided",
                    state_line=_state_line(shown.editor, stale),
                    shown=shown.status == "published",
                    text=text,
                    checks=shown.checks if shown.status == "published" else answer.checks,
                    reason=display_line(shown.reason),
                    model_published=answer.status == "published",
                    has_draft=answer.summary is not None,
                    sent=code in received,
                    draft=draft,
                    error=message,
                )
            )
    return ReviewView(
        title=display_line(m.title),
        edition_date=m.edition_date.isoformat(),
        editor=session.editor,
        required=session.required,
        undecided=sum(item.state == "undecided" for item in items),
        items=items,
        token=session.token,
    )


def _state_line(mark: EditorMark | None, stale: bool) -> str:
    if mark is None:
        return "Undecided" + (" (the decision made was on an earlier answer)" if stale else "")
    when = _when(mark.at)
    line = f"{mark.action.capitalize()} by {mark.editor}, {when}"
    if mark.note:
        line += f": {mark.note}"
    elif mark.reason:
        line += f": {mark.reason}"
    return display_line(line)


def _when(at: datetime) -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Handled:
    anchor: str
    error: str = ""  # empty: done
    action: str = ""


def handle(folder: Path, form: dict[str, str], session: ReviewSession) -> Handled:
    """One form, one desk call. Every refusal is a message for the page, nothing recorded."""
    article_id, lang, action = form.get("article", ""), form.get("lang", ""), form.get("action")
    anchor = f"item-{article_id}-{lang}"
    try:
        desk = Desk(folder)
        article = desk.article(article_id)
        if article.id != article_id:
            raise UsageError("unknown story")
        text = None
        if action in ("edit", "correct"):
            points = form.get("points", "").splitlines()
            text = editor_text(form.get("headline", ""), form.get("summary", ""), points)
        if action == "correct":
            assert text is not None
            desk.correct(
                article_id,
                lang,
                editor=session.editor,
                note=form.get("note", ""),
                headline=text.headline,
                summary=text.summary,
                points=text.key_points,
                force=form.get("reason", ""),
            )
        elif action in ACTIONS:
            desk.decide(
                article_id,
                lang,
                action,
                editor=session.editor,
                reason=form.get("reason", ""),
                summary=text,
            )
        else:
            raise UsageError("unknown action")
    except DigestError as exc:
        return Handled(anchor=anchor, error=exc.message, action=str(action))
    return Handled(anchor=anchor)
