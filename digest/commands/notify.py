"""``digest notify``: post an edition's headlines to chat and push services (library:
digest.delivery.notify)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from digest.commands.common import ConfigOption
from digest.config import load_settings


def notify(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="A rendered edition folder (has manifest.json).")
    ],
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to", metavar="URL", help="Apprise URL; repeatable (default: [notify] urls)."
        ),
    ] = None,
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", metavar="L", help="These languages (repeatable or ar,tr)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Post an edition's headlines (or its "in brief" overview) to chat and push
    services: Slack, Telegram, Matrix, Discord, ntfy, JSON webhooks (Apprise URLs).

    \b
    Examples:
      digest notify briefings/2025-03-14 --lang ar,tr
      digest notify digest-out --to 'json://hooks.example.org/news' --lang en
      DIGEST_NOTIFY_URLS='tgram://BOT_TOKEN/CHAT_ID ntfy://ntfy.sh/TOPIC' digest notify digest-out

    \b
    One message per language and target; without --lang, the edition's first language.
    Apprise URLs hold secrets: keep them in the config file ([notify] urls = [...]) or
    DIGEST_NOTIFY_URLS rather than on the command line (shell history, ps). digest shows
    a target only as "target N (Service)", never its URL. With site_url configured, each
    message links to the edition's archive page.

    \b
    Exit codes: 0 all posted, 2 bad input (unknown URL scheme, language, folder),
    3 some targets did not take the message.
    """
    settings = load_settings({}, config)
    urls = to or [url.get_secret_value() for url in settings.notify.urls]
    from digest.delivery.notify import NotifyOptions, notify_edition  # lazy: Apprise is slow

    options = NotifyOptions(
        folder=folder,
        urls=urls,
        languages=[code for value in lang or [] for code in value.split(",") if code.strip()],
    )
    report = notify_edition(options, site_url=settings.site_url)
    for failure in report.failed:
        print(
            f"digest: failed: {failure.target} [{failure.lang}]: {failure.reason}", file=sys.stderr
        )
    print(report.summary())
    if report.exit_code:
        raise typer.Exit(int(report.exit_code))
