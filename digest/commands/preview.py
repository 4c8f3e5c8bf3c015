"""``digest preview``: look at a rendered edition in the browser (digest.output.preview)."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from digest.commands.common import ConfigOption, flags, notice
from digest.config import load_settings


def preview(
    folder: Annotated[
        Path | None,
        typer.Argument(
            metavar="DIR",
            help="A rendered edition folder (has manifest.json). Default: the configured out.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, metavar="N", help="Port to listen on; 0 picks a free one."),
    ] = 8765,
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Address to listen on (keep it local).")
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the preview in the system browser.")
    ] = False,
    review: Annotated[
        bool,
        typer.Option("--review", help="Approve, reject, edit or publish each item (at /review)."),
    ] = False,
    editor: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Who is reviewing [default: config editor, OS user]."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Serve a rendered edition locally: every language's email, text and Markdown,
    a side-by-side compare view and the check results. Pages reload when files change.

    With --review, /review lists every story in every language: approve it, reject it,
    edit its text (checked again like model output) or publish a withheld one with a
    reason. Decisions go to DIR/review.json and the manifest, and the edition is
    re-rendered at once. Once a language was sent, its items take corrections instead.

    \b
    Examples:
      digest preview digest-out/ --open
      digest preview --port 0
      digest preview briefings/2025-03-14 --review --editor "Ana Lima" --open

    \b
    Prints the URL on stdout; Ctrl-C stops. Exit code 2 when DIR holds no edition.
    """
    settings = load_settings(flags(editor=editor), config)
    directory = folder if folder is not None else settings.out
    from digest.output.preview import make_server  # lazy: keeps `digest --help` fast

    session = None
    if review:
        from digest.desk import default_editor
        from digest.output.review_pages import ReviewSession

        session = ReviewSession(
            editor=settings.review.editor or default_editor(),
            required=settings.review.mode == "required",
        )
    server = make_server(directory, host, port, session)
    url = server.url + ("review" if review else "")
    print(url, flush=True)
    notice(f"previewing {directory}; press Ctrl-C to stop")
    if session is not None:
        notice(f"reviewing as {session.editor}")
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        notice("preview stopped")
    finally:
        server.server_close()
