"""The ``digest`` command line: a thin layer that reads flags, builds Settings, calls one
library function and prints a summary. Errors are translated to one stderr line and an
exit code here, and only here (see digest.errors)."""

from __future__ import annotations

import os
import sys

import typer

from digest.commands import (
    archive,
    cache_cmd,
    correct,
    daily,
    eval_cmd,
    models_cmd,
    notify,
    preview,
    prompts_cmd,
    run,
    send,
)
from digest.errors import DigestError, ExitCode

INTERRUPTED = 130

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
app.command("correct")(correct.correct)
app.command("archive")(archive.archive)
app.command("notify")(notify.notify)
app.command("models", epilog=models_cmd.EXAMPLES)(models_cmd.models)
app.add_typer(prompts_cmd.app, name="prompts")
app.add_typer(cache_cmd.app, name="cache")
app.add_typer(eval_cmd.app, name="eval")


def main(argv: list[str] | None = None) -> None:
    """Entry point. Errors end in one line on stderr and a documented exit code."""
    try:
        # standalone_mode=False: click hands every exception to us, so Ctrl-C and usage
        # errors are reported the same way whatever command is running.
        code = app(args=argv, prog_name="digest", standalone_mode=False)
    except DigestError as exc:
        print(f"digest: error: {exc.message}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except typer.TyperException as exc:  # click's usage errors, as typer ships them
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(getattr(exc, "exit_code", int(ExitCode.USAGE)))
    except (KeyboardInterrupt, typer.Abort):
        _interrupted()
    except Exception as exc:  # the one catch-all, at the edge
        if os.environ.get("DIGEST_DEBUG") or "pytest" in sys.modules:
            raise
        print(
            f"digest: internal error: {type(exc).__name__}: {exc} "
            "(run with DIGEST_DEBUG=1 for a traceback, and please report it)",
            file=sys.stderr,
        )
        sys.exit(int(ExitCode.FAILURE))
    if code == INTERRUPTED:  # typer turns Ctrl-C into a silent exit code 130
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)


def _interrupted() -> None:
    print("digest: interrupted; finished work is kept in the cache", file=sys.stderr)
    sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
