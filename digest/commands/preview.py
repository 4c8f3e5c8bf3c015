"""Placeholder: implemented in its own issue."""

import typer


def preview() -> None:
    """Not implemented yet."""
    raise typer.Exit(1)
