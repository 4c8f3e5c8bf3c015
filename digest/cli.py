"""The ``digest`` command line: a thin layer that reads flags, builds Settings, calls one
library function and prints a summary. Errors are translated to one stderr line and an
exit code here, and only here (see digest.errors)."""

from __future__ import annotations

import os
import sys

import typer

from digest.commands import cache_cmd, daily, models_cmd, preview, prompts_cmd, run, send
from digest.errors import DigestError, ExitCode

app = typer.Typer(
    name="digest",
    help=(
        "Turn news articles into a checked, multilingual briefing: Markdown, email-ready HTML "
        "and plain text, summarised by any OpenAI-compatible endpoint or the embedded local "
        "model.\n\nStart with:  digest run seeds/ --lang en,tr,ar,de --out digest-out"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.command("run", epilog=run.EXAMPLES)(run.run)
app.command("daily")(daily.daily)
app.command("send")(send.send)
app.command("preview")(preview.preview)
app.command("models", epilog=models_cmd.EXAMPLES)(models_cmd.models)
app.add_typer(prompts_cmd.app, name="prompts")
app.add_typer(cache_cmd.app, name="cache")


def main(argv: list[str] | None = None) -> None:
    """Entry point. Errors end in one line on stderr and a documented exit code."""
    try:
        app(args=argv, prog_name="digest")
    except DigestError as exc:
        print(f"digest: error: {exc.message}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        print("digest: interrupted; finished work is kept in the cache", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # the one catch-all, at the edge
        if os.environ.get("DIGEST_DEBUG") or "pytest" in sys.modules:
            raise
        print(
            f"digest: internal error: {type(exc).__name__}: {exc} "
            "(run with DIGEST_DEBUG=1 for a traceback, and please report it)",
            file=sys.stderr,
        )
        sys.exit(int(ExitCode.FAILURE))


if __name__ == "__main__":
    main()
