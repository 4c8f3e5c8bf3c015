"""Options and output helpers shared by commands (so every command spells them the same)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Config file (default: ./digest.toml or [tool.digest])."),
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model name at the endpoint [env: DIGEST_MODEL]."),
]
ModelFileOption = Annotated[
    Path | None,
    typer.Option("--model-file", help="Run this GGUF locally instead of the bundled model."),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint URL [env: OPENAI_BASE_URL]."),
]


def notice(message: str) -> None:
    """Status lines go to stderr so stdout stays clean for the summary."""
    print(f"digest: {message}", file=sys.stderr, flush=True)


def flags(**values: Any) -> dict[str, Any]:
    """Only the flags the user gave; None means 'not given, let lower layers decide'."""
    return {k: v for k, v in values.items() if v is not None and v is not False}
