"""Placeholder: implemented in its own issue."""

import typer


def daily() -> None:
    """Not implemented yet."""
    raise typer.Exit(1)
