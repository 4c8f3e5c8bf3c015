"""``digest preview``: look at a rendered edition in the browser (digest.output.preview)."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from digest.commands.common import ConfigOption, notice
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
    ] = 8000,
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Address to listen on (keep it local).")
    ] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the preview in the system browser.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Serve a rendered edition locally: every language's email, text and Markdown,
    a side-by-side compare view and the check results. Pages reload when files change.

    \b
    Examples:
      digest preview digest-out/ --open
      digest preview --port 0

    \b
    Prints the URL on stdout; Ctrl-C stops. Exit code 2 when DIR holds no edition.
    """
    directory = folder if folder is not None else load_settings({}, config).out
    from digest.output.preview import make_server  # lazy: keeps `digest --help` fast

    server = make_server(directory, host, port)
    print(server.url, flush=True)
    notice(f"previewing {directory}; press Ctrl-C to stop")
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        notice("preview stopped")
    finally:
        server.server_close()
