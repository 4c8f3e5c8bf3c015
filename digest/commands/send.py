"""``digest send``: deliver a rendered edition by SMTP (library: digest.delivery.mail)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from digest.config import load_settings


def send(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="A rendered edition folder (has manifest.json).")
    ],
    to: Annotated[
        list[str] | None,
        typer.Option("--to", metavar="ADDR", help="Recipient address; repeatable."),
    ] = None,
    subscribers: Annotated[
        Path | None,
        typer.Option("--subscribers", metavar="CSV", help="CSV: email,name,language[,topics]."),
    ] = None,
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", metavar="L", help="Only these languages (repeatable or en,tr)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write DIR/outbox/*.eml instead of sending.")
    ] = False,
    subject: Annotated[
        str | None,
        typer.Option(metavar="TEMPLATE", help="Subject: {title} {date} {lang} {language} {name}."),
    ] = None,
    resend: Annotated[
        bool, typer.Option("--resend", help="Send again to those the send log lists.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", metavar="PATH", help="Config file (TOML).")
    ] = None,
    smtp_host: Annotated[str | None, typer.Option("--smtp-host", metavar="HOST")] = None,
    smtp_port: Annotated[int | None, typer.Option("--smtp-port", metavar="PORT")] = None,
    smtp_security: Annotated[
        str | None,
        typer.Option("--smtp-security", metavar="MODE", help="starttls (default), tls or none."),
    ] = None,
    smtp_ca_file: Annotated[
        Path | None,
        typer.Option(
            "--smtp-ca-file",
            metavar="PEM",
            help="Trust only this CA for the server's certificate (default: the system's).",
        ),
    ] = None,
    fallback_lang: Annotated[
        str | None,
        typer.Option(
            "--fallback-lang",
            metavar="L",
            help="Send L to subscribers whose language the edition lacks (default: skip, exit 3).",
        ),
    ] = None,
    from_addr: Annotated[
        str | None, typer.Option("--from", metavar="ADDR", help="Sender address.")
    ] = None,
    retry_wait: Annotated[
        float,
        typer.Option(
            min=0.0,
            metavar="SECONDS",
            help="Seconds before retrying a 4xx reply; doubles each try.",
        ),
    ] = 2.0,
) -> None:
    """Send a rendered edition by email to --to addresses or a subscribers CSV.

    \b
    Examples:
      digest send digest-out/ --to me@example.org --lang tr --dry-run
      digest send digest-out/ --subscribers subscribers.csv \\
          --smtp-host smtp.example.org --from "News <news@example.org>"

    \b
    The SMTP password comes from DIGEST_SMTP_PASSWORD or [smtp] password in the
    config file, never from a flag. --to recipients get the --lang languages, else
    the edition's first one. The CSV columns: email, name, language ("en;tr"; also
    headed languages or lang), topics; any other column is refused. A subscriber
    whose language the edition lacks is reported and skipped, or gets --fallback-lang
    (reported too). Messages sent are recorded in DIR/send-log.jsonl; a re-run skips
    them (--resend).

    \b
    Exit codes: 0 all sent or skipped, 2 bad input, 3 some recipients failed or
    lacked their language, 5 the SMTP server is unreachable or refused the login.
    """
    smtp = {
        "host": smtp_host,
        "port": smtp_port,
        "security": smtp_security,
        "ca_file": smtp_ca_file,
        "from": from_addr,
    }
    # load_settings only drops None inside a mapping that an earlier layer also set.
    smtp = {key: value for key, value in smtp.items() if value is not None}
    settings = load_settings({"smtp": smtp, "subject": subject}, config)
    from digest.delivery.mail import SendOptions, send_edition  # lazy: keeps `digest --help` fast

    options = SendOptions(
        folder=folder,
        to=to or [],
        subscribers=subscribers,
        languages=[code for value in lang or [] for code in value.split(",") if code.strip()],
        dry_run=dry_run,
        resend=resend,
        retry_wait=retry_wait,
        fallback_lang=fallback_lang,
    )
    report = send_edition(options, settings)
    for warning in report.warnings:
        print(f"digest: warning: {warning}", file=sys.stderr)
    for failure in report.failed:
        print(
            f"digest: failed: {failure.email} [{failure.lang}]: {failure.reason}", file=sys.stderr
        )
    for unserved in report.unserved:
        print(
            f"digest: skipped: {unserved.email} [{unserved.lang}]: {unserved.reason}",
            file=sys.stderr,
        )
    for fallback in report.fallbacks:
        print(
            f"digest: fallback: {fallback.email} gets {fallback.lang} "
            f"(the edition has no {fallback.wanted})",
            file=sys.stderr,
        )
    print(report.summary())
    if report.exit_code:
        raise typer.Exit(int(report.exit_code))
