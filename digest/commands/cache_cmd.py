"""`digest cache stats|clear`: the answer cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest.cache import Cache
from digest.commands.common import ConfigOption, flags, notice
from digest.config import load_settings

app = typer.Typer(help="Inspect or clear the LLM answer cache (SQLite).", no_args_is_help=True)
CacheOption = Annotated[Path | None, typer.Option("--cache", help="Cache file.")]


@app.command("stats", epilog="Example:\n\n\b\n  digest cache stats")
def stats(cache: CacheOption = None, config: ConfigOption = None) -> None:
    """Where the cache is, how many answers it holds, by prompt and model."""
    settings = load_settings(flags(cache=cache), config)
    with Cache(settings.cache.file, warn=notice) as store:
        info = store.stats()
    print(f"cache: {info.path}\nentries: {info.entries}\nsize: {info.bytes} bytes")
    for prompt, count in sorted(info.by_prompt.items()):
        print(f"  prompt {prompt}: {count}")
    for model, count in sorted(info.by_model.items()):
        print(f"  model {model}: {count}")


@app.command("clear", epilog="Example:\n\n\b\n  digest cache clear --yes")
def clear(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    cache: CacheOption = None,
    config: ConfigOption = None,
) -> None:
    """Delete every cached answer (the next run pays for all of them again)."""
    settings = load_settings(flags(cache=cache), config)
    if not yes and not typer.confirm(f"Delete every answer in {settings.cache.file}?"):
        raise typer.Exit(1)
    with Cache(settings.cache.file, warn=notice) as store:
        removed = store.clear()
    print(f"removed {removed} cached answer(s) from {settings.cache.file}")
