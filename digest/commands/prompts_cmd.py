"""`digest prompts list|show`: the versioned prompt files."""

from __future__ import annotations

from typing import Annotated

import typer

from digest.prompts import list_prompts, load_prompt, wire_schema

app = typer.Typer(
    help="List and show the versioned prompt files (prompts/<name>/v<N>.md).",
    no_args_is_help=True,
)


@app.command("list", epilog="Example:\n\n\b\n  digest prompts list")
def list_command() -> None:
    """Every prompt version: name@version, output schema, description (latest marked *)."""
    specs = list_prompts()
    latest = {s.name: s.version for s in specs}
    for spec in specs:
        mark = "*" if latest[spec.name] == spec.version else " "
        print(f"{mark} {spec.ref:<16} {spec.output:<8} {spec.description}")


@app.command(
    "show",
    epilog="Examples:\n\n\b\n  digest prompts show summarize\n  digest prompts show summarize@1",
)
def show_command(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION (default: latest).")],
) -> None:
    """Front matter, expected output schema and the system/user templates of one prompt."""
    import json

    spec = load_prompt(ref)
    print(f"{spec.ref}  ({spec.path})")
    print(f"description: {spec.description}")
    print(
        f"output: {spec.output}  temperature: {spec.temperature}  max_tokens: {spec.max_tokens}"
        + (f"  repeat_penalty: {spec.repeat_penalty}" if spec.repeat_penalty else "")
    )
    print("schema: " + json.dumps(wire_schema(spec.schema_model), ensure_ascii=False))
    print("\n[system]\n" + spec.system + "\n\n[user]\n" + spec.user)
