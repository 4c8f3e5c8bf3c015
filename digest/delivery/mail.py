"""Newsletter delivery: one ``EmailMessage`` per recipient and language, sent over one SMTP
connection per batch, or written to ``DIR/outbox/`` as ``.eml`` files with ``dry_run``.

Failure policy, per recipient and language:

* 5xx reply (refused recipient, rejected data) -> reported as failed, the batch goes on;
* 4xx reply -> retried with a short exponential back-off, then reported as failed;
* connection dropped -> reconnect and retry that message; if the server cannot be reached
  again the batch stops with ``DeliveryError`` (the send log keeps what was already sent);
* server unreachable or login refused at the start -> ``DeliveryError`` (exit 5).

Every message sent is appended to ``DIR/send-log.jsonl``; a re-run skips the recipients
already sent this edition in that language unless ``resend`` is set. The same log tells a
correction who received the earlier text (``received``). With ``review = "required"`` an
edition with items no editor decided on is refused before anything is sent.
"""

from __future__ import annotations

import email.policy
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import quote

from babel.dates import format_date
from pydantic import BaseModel, Field, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from digest.config import Settings
from digest.delivery.smtp import (
    Connection,
    Permanent,
    SmtpFactory,
    Temporary,
    open_connection,
)
from digest.delivery.subscribers import (
    Job,
    LogEntry,
    Recipient,
    SendLog,
    load_subscribers,
    one_line,
    parse_address,
    plan,
    recipients_from_addresses,
)
from digest.errors import DeliveryError, ExitCode, UsageError, file_error
from digest.fsutil import write_atomic
from digest.manifest import Manifest
from digest.models import LanguageInfo, safe_url
from digest.review import require_decided

SUBJECT_FIELDS = ("title", "date", "lang", "language", "name")
UNSUBSCRIBE_FIELDS = ("email", "lang")
SEND_LOG = "send-log.jsonl"
# Bodies go out as quoted-printable / base64 so no server needs 8BITMIME; headers are
# RFC 2047-encoded, so Arabic or Turkish subjects survive any relay.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")


class EditionFolder:
    """A rendered edition folder, read through its manifest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest = Manifest.load(folder)

    @property
    def key(self) -> str:
        return self.manifest.key

    def bodies(self, lang: LanguageInfo) -> tuple[str, str]:
        """(text, html) for one language."""
        parts = []
        for kind in ("txt", "html"):
            path = self.folder / Manifest.file_name(lang.code, kind)
            try:
                parts.append(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise file_error(path, exc) from None
        return parts[0], parts[1]


class SendOptions(BaseModel):
    folder: Path
    to: list[str] = []
    subscribers: Path | None = None
    languages: list[str] = Field(default=[], description="only these; default: the first")
    dry_run: bool = False
    resend: bool = False
    attempts: int = Field(default=3, ge=1, description="tries per message on 4xx / drops")
    retry_wait: float = Field(default=2.0, ge=0, description="first back-off, doubles")
    fallback_lang: str | None = Field(
        default=None, description="for subscribers whose language the edition lacks"
    )


class Delivery(BaseModel):
    email: str
    lang: str
    message_id: str


class Failure(BaseModel):
    email: str
    lang: str
    reason: str


class Fallback(BaseModel):
    email: str
    wanted: str  # the language the edition lacks
    lang: str  # what they got instead


class SendReport(BaseModel):
    dry_run: bool = False
    sent: list[Delivery] = []
    skipped: list[Delivery] = []
    failed: list[Failure] = []
    unserved: list[Failure] = []  # a language the edition lacks, and no fallback
    fallbacks: list[Fallback] = []
    warnings: list[str] = []
    files: list[Path] = []
    outbox: Path | None = None

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.PARTIAL if self.failed or self.unserved else ExitCode.OK

    def summary(self) -> str:
        if self.dry_run:
            parts = [f"dry run: wrote {len(self.files)} message(s) to {self.outbox}"]
        else:
            parts = [f"sent {len(self.sent)}"]
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)} (already sent)")
        if self.failed:
            parts.append(f"failed {_some([f'{f.email}: {f.reason}' for f in self.failed])}")
        if self.unserved:
            parts.append(f"unserved {_some([f'{u.email}: no {u.lang}' for u in self.unserved])}")
        if self.fallbacks:
            shown = [f"{f.email}: {f.lang} for {f.wanted}" for f in self.fallbacks]
            parts.append(f"fallback {_some(shown)}")
        return ", ".join(parts)


def _some(items: list[str], shown: int = 3) -> str:
    """``2 (a; b)``, or ``5 (a; b; c; +2 more)``: a count and the first few."""
    more = f"; +{len(items) - shown} more" if len(items) > shown else ""
    return f"{len(items)} ({'; '.join(items[:shown])}{more})"


def check_template(template: str, allowed: tuple[str, ...], what: str) -> None:
    """Only named placeholders we fill; no attribute or index access."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template)]
    except ValueError as exc:
        raise UsageError(f"bad {what} template {template!r}: {exc}") from None
    for field in fields:
        if field is not None and field not in allowed:
            names = ", ".join("{" + name + "}" for name in allowed)
            raise UsageError(f"{what} template: unknown placeholder {{{field}}} (use {names})")


def unsubscribe_link(template: str, address: str, lang: str) -> str:
    url = safe_url(template.format(email=quote(address, safe=""), lang=quote(lang, safe="")))
    if url is None:
        raise UsageError("unsubscribe_url must be an http(s) URL template")
    return url


def build_message(
    *,
    sender: Address,
    recipient: Recipient,
    lang: LanguageInfo,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str | None,
    now: datetime,
) -> EmailMessage:
    """multipart/alternative, text first and HTML last (the part clients prefer)."""
    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = one_line(subject)
    msg["From"] = sender
    msg["To"] = Address(display_name=one_line(recipient.name), addr_spec=recipient.email)
    msg["Date"] = format_datetime(now.astimezone())
    msg["Message-ID"] = make_msgid(domain=sender.domain)
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    # After the parts exist: turning the message multipart moves Content-* headers down.
    msg["Content-Language"] = lang.code
    return msg


def render_subject(template: str, manifest: Manifest, lang: LanguageInfo, name: str) -> str:
    return template.format(
        title=manifest.title_for(lang.code),
        date=format_date(manifest.edition_date, format="long", locale=lang.locale),
        lang=lang.code,
        language=lang.native_name,
        name=name,
    )


def _sender(settings: Settings) -> Address:
    """The configured sender; without a display name, each message gets its edition's title
    in that message's language (see ``_Composer.message``)."""
    if not settings.smtp.from_addr:
        raise UsageError("no sender address: use --from, DIGEST_FROM or 'from' under [smtp]")
    try:
        name, spec = parse_address(settings.smtp.from_addr)
    except ValueError as exc:
        raise UsageError(f"sender address {settings.smtp.from_addr!r}: {exc}") from None
    return Address(display_name=name, addr_spec=spec)


class _Composer:
    """Builds the message for one job; everything is validated before the first one."""

    def __init__(self, edition: EditionFolder, settings: Settings, jobs: list[Job]) -> None:
        self.edition = edition
        self.sender = _sender(settings)
        self.subject = settings.mail.subject
        self.unsubscribe = settings.mail.unsubscribe_url
        check_template(self.subject, SUBJECT_FIELDS, "subject")
        if self.unsubscribe:
            check_template(self.unsubscribe, UNSUBSCRIBE_FIELDS, "unsubscribe_url")
            unsubscribe_link(self.unsubscribe, "a@example.org", "en")
        self.bodies = {job.lang.code: edition.bodies(job.lang) for job in jobs}

    def message(self, job: Job, now: datetime) -> EmailMessage:
        text, html = self.bodies[job.lang.code]
        link = self.unsubscribe and unsubscribe_link(
            self.unsubscribe, job.recipient.email, job.lang.code
        )
        return build_message(
            sender=self.sender
            if self.sender.display_name
            else Address(
                display_name=one_line(self.edition.manifest.title_for(job.lang.code)),
                addr_spec=self.sender.addr_spec,
            ),
            recipient=job.recipient,
            lang=job.lang,
            subject=render_subject(
                self.subject, self.edition.manifest, job.lang, job.recipient.name
            ),
            text=text,
            html=html,
            unsubscribe_url=link or None,
            now=now,
        )


def _delivery(job: Job, message_id: str) -> Delivery:
    return Delivery(email=job.recipient.email, lang=job.lang.code, message_id=message_id)


def _failure(job: Job, reason: str) -> Failure:
    return Failure(email=job.recipient.email, lang=job.lang.code, reason=reason)


def _outbox_name(job: Job) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", job.recipient.email) + f".{job.lang.code}.eml"


def send_edition(
    options: SendOptions,
    settings: Settings,
    connect: SmtpFactory | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SendReport:
    """Deliver (or with ``dry_run`` write out) one rendered edition; never prints.

    ``connect`` replaces the SMTP factory built from ``settings.smtp`` (tests, other
    transports). Every input is validated before the first message leaves.
    """
    edition = EditionFolder(options.folder)
    if bool(options.to) == bool(options.subscribers):
        raise UsageError("give either --to ADDR (repeatable) or --subscribers FILE.csv")
    recipients = (
        load_subscribers(options.subscribers)
        if options.subscribers
        else recipients_from_addresses(options.to)
    )
    fallback = options.fallback_lang or settings.mail.fallback_lang
    jobs, fallbacks, unserved, warnings = plan(
        edition.manifest.languages, recipients, options.languages, fallback
    )
    if settings.review.mode == "required":
        manifest = edition.manifest
        titles = {a.id: a.title for a in manifest.articles}
        langs = {job.lang.code for job in jobs}
        require_decided(manifest.results, titles, langs, options.folder)
    composer = _Composer(edition, settings, jobs)
    log = SendLog(options.folder / SEND_LOG)
    done = {} if options.resend else log.sent(edition.key)

    have = ", ".join(edition.manifest.codes())
    report = SendReport(
        dry_run=options.dry_run,
        warnings=warnings,
        unserved=[
            Failure(
                email=u.recipient.email,
                lang=u.wanted,
                reason=f"the edition has no {u.wanted}"
                f" (it has {have}); --fallback-lang sends another",
            )
            for u in unserved
        ],
        fallbacks=[
            Fallback(email=f.recipient.email, wanted=f.wanted, lang=f.fallback or "")
            for f in fallbacks
        ],
    )
    pending = []
    for job in jobs:
        previous = done.get((job.recipient.email.casefold(), job.lang.code))
        if previous is None:
            pending.append(job)
        else:
            report.skipped.append(_delivery(job, previous))

    if options.dry_run:
        report.outbox = options.folder / "outbox"
        for job in pending:
            msg = composer.message(job, clock())
            report.files.append(write_atomic(report.outbox / _outbox_name(job), msg.as_bytes()))
            report.sent.append(_delivery(job, str(msg["Message-ID"])))
        return report
    if pending:
        if connect is None and not settings.smtp.host:
            raise UsageError("no SMTP server: use --smtp-host, DIGEST_SMTP_HOST or [smtp] host")
        _deliver(
            pending, composer, log, open_connection(settings.smtp, connect), options, clock, report
        )
    return report


def _deliver(
    pending: list[Job],
    composer: _Composer,
    log: SendLog,
    smtp: Connection,
    options: SendOptions,
    clock: Callable[[], datetime],
    report: SendReport,
) -> None:
    retrying = Retrying(
        stop=stop_after_attempt(options.attempts),
        wait=wait_exponential(multiplier=options.retry_wait, max=30),
        retry=retry_if_exception_type(Temporary),
        reraise=True,
    )
    smtp.open()
    try:
        for job in pending:
            msg = composer.message(job, clock())
            try:
                retrying(smtp.send, msg, composer.sender.addr_spec, job.recipient.email)
            except Temporary as exc:
                if exc.unreachable:
                    raise DeliveryError(
                        f"lost the SMTP server {smtp.where} after sending {len(report.sent)}: "
                        f"{exc.reason}; re-run to send the rest (the send log skips the others)"
                    ) from None
                tries = f"gave up after {options.attempts} tries"
                report.failed.append(_failure(job, f"{exc.reason} ({tries})"))
            except Permanent as exc:
                report.failed.append(_failure(job, exc.reason))
            else:
                message_id = str(msg["Message-ID"])
                log.append(
                    LogEntry(
                        edition=composer.edition.key,
                        email=job.recipient.email,
                        lang=job.lang.code,
                        message_id=message_id,
                        time=clock(),
                    )
                )
                report.sent.append(_delivery(job, message_id))
    finally:
        smtp.close()


def received(folder: Path, edition: str, lang: str, before: datetime | None = None) -> list[str]:
    """Who the send log says received ``lang`` of ``edition`` (before ``before``), once each."""
    path = folder / SEND_LOG
    if not path.is_file():
        return []
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = LogEntry.model_validate_json(line)
        except ValidationError:
            continue  # a torn last line
        sent = entry.time if entry.time.tzinfo else entry.time.replace(tzinfo=UTC)
        if entry.edition == edition and entry.lang == lang and (before is None or sent < before):
            found.setdefault(entry.email.casefold(), entry.email)
    return list(found.values())
