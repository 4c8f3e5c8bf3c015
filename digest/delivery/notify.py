"""Notifications: an edition's headlines (or its "in brief" overview, when it has one) posted
to chat and push services through Apprise URLs, one message per language and target.

    json://host/path            a plain JSON webhook (POST {"title", "message", "type"})
    ntfy://host/topic           ntfy;  slack://…, tgram://…, matrix://…, discord://… and the
                                rest of Apprise's services (https://github.com/caronc/apprise)

Apprise URLs carry secrets (bot tokens, webhook keys, ntfy topics). A target is therefore
shown everywhere as ``target N (Service)``, never by its URL, and whatever Apprise logs about
a failure is scrubbed of every piece of the URL before it reaches the report.

Failure policy: an URL Apprise does not know is a usage error before anything is posted
(exit 2); a target that does not take a message is reported and the others go on (exit 3).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from digest.delivery.subscribers import match_language
from digest.errors import ExitCode, UsageError
from digest.languages import parse_language
from digest.manifest import Manifest
from digest.output.feeds import archive_page, edition_views
from digest.output.views import EditionView

MAX_BODY_CHARS = 1800  # under Discord's 2,000; Telegram takes 4,096, Slack more
MAX_HEADLINES = 10
_URL_PIECES = re.compile(r"[/:@?&=#,+\s]+")

# A target is told one message: (title, body) -> delivered?
Sender = Callable[[str, str], bool]


class Target:
    """One Apprise URL, validated, and how it is shown: ``target 2 (Telegram)``."""

    def __init__(self, number: int, url: str, sender: Sender, service: str) -> None:
        self.label = f"target {number} ({service})"
        self.send = sender
        self.secrets = sorted(_pieces(url), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())[:300]


def _pieces(url: str) -> set[str]:
    """Every part of a URL that could be a secret (raw and percent-decoded), but the scheme."""
    rest = url.split("://", 1)[-1]
    pieces = {p for p in _URL_PIECES.split(rest) if len(p) >= 4}
    return pieces | {unquote(p) for p in pieces} | {rest}


def apprise_target(number: int, url: str) -> Target:
    """A target through Apprise; an URL it does not know is one UsageError (scheme only)."""
    import apprise  # lazy: the plugin registry takes a moment to load

    asset = apprise.AppriseAsset(app_id="digest", app_desc="news digest")
    plugin = apprise.Apprise.instantiate(url.strip(), asset=asset)
    if plugin is None:
        scheme = urlsplit(url.strip()).scheme or "none"
        raise UsageError(
            f"--to #{number} (scheme {scheme!r}): not a notification URL Apprise knows "
            "(json://, ntfy://, slack://, tgram://, matrix://, discord:// ...)"
        )

    def send(title: str, body: str) -> bool:
        return bool(plugin.notify(body=body, title=title))

    return Target(number, url, send, str(plugin.service_name))


class NotifyOptions(BaseModel):
    folder: Path
    urls: list[str]
    languages: list[str] = []  # default: the edition's first language


class Posted(BaseModel):
    target: str
    lang: str


class NotFailed(BaseModel):
    target: str
    lang: str
    reason: str


class NotifyReport(BaseModel):
    sent: list[Posted] = []
    failed: list[NotFailed] = []

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.PARTIAL if self.failed else ExitCode.OK

    def summary(self) -> str:
        targets = len({p.target for p in self.sent} | {f.target for f in self.failed})
        langs = sorted({p.lang for p in self.sent} | {f.lang for f in self.failed})
        text = (
            f"notified {len(self.sent)} of {len(self.sent) + len(self.failed)} "
            f"(target x language: {targets} target(s), {', '.join(langs)})"
        )
        if self.failed:
            shown = "; ".join(f"{f.target} [{f.lang}]: {f.reason}" for f in self.failed[:3])
            text += f", failed {len(self.failed)} ({shown})"
        return text


def message(view: EditionView, page_url: str | None) -> tuple[str, str]:
    """(title, body) of one language: the overview, else the published headlines."""
    title = f"{view.title} — {view.date}"
    if view.brief:
        body = view.brief
    else:
        headlines = [s.headline for sec in view.sections for s in sec.stories if s.published]
        shown = headlines[:MAX_HEADLINES]
        body = "\n".join(f"• {h}" for h in shown) or view.strings["no_stories"]
        if len(headlines) > len(shown):
            body += f"\n(+{len(headlines) - len(shown)})"
    if len(body) > MAX_BODY_CHARS:
        body = body[: MAX_BODY_CHARS - 1].rstrip() + "…"
    if page_url:
        body += f"\n\n{page_url}"
    return title, body


def _views(manifest: Manifest, wanted: list[str]) -> list[EditionView]:
    views = edition_views(manifest)
    if not wanted:
        return views[:1]
    have = ", ".join(view.code for view in views)
    chosen = []
    for code in wanted:
        info = match_language(manifest.languages, parse_language(code).code)
        if info is None:
            raise UsageError(f"--lang: the edition has no {code!r} (it has {have})")
        chosen.append(info.code)
    return [view for view in views if view.code in chosen]


def notify_edition(
    options: NotifyOptions,
    *,
    site_url: str | None = None,
    target: Callable[[int, str], Target] = apprise_target,
) -> NotifyReport:
    """Post one message per language to every target; never prints, never shows an URL.

    ``target`` builds a target from (number, URL): Apprise by default, anything else in tests.
    Every input is checked before the first message leaves.
    """
    if not options.urls:
        raise UsageError("no notification URL: give --to URL (repeatable) or [notify] urls")
    manifest = Manifest.load(options.folder)
    views = _views(manifest, options.languages)
    targets = [target(number, url) for number, url in enumerate(options.urls, 1)]
    day = manifest.edition_date.isoformat()
    report = NotifyReport()
    for view in views:
        page = f"{site_url}{archive_page(day, view.code)}" if site_url else None
        title, body = message(view, page)
        for each in targets:
            ok, logged = _send(each, title, body)
            if ok:
                report.sent.append(Posted(target=each.label, lang=view.code))
            else:
                reason = each.scrub(logged) or "the service did not take the message"
                report.failed.append(NotFailed(target=each.label, lang=view.code, reason=reason))
    return report


def _send(target: Target, title: str, body: str) -> tuple[bool, str]:
    """Send, capturing what Apprise logs at warning level (its only account of a failure)."""
    logger = logging.getLogger("apprise")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler: Any = Keep(level=logging.WARNING)
    # Not propagated while we send: a root handler would print the unscrubbed text.
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(handler)
    try:
        ok = target.send(title, body)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    return ok, records[-1] if records else ""
