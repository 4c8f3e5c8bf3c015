"""Placeholder: implemented in its own issue."""

import typer


def send() -> None:
    """Not implemented yet."""
    raise typer.Exit(1)
