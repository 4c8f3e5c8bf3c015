"""`digest prompts list|show|diff`: the versioned prompt files."""

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
    ref_width = max((len(s.ref) for s in specs), default=0)
    output_width = max((len(s.output) for s in specs), default=0)
    for spec in specs:
        mark = "*" if latest[spec.name] == spec.version else " "
        print(f"{mark} {spec.ref:<{ref_width}}  {spec.output:<{output_width}}  {spec.description}")


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


@app.command(
    "diff",
    epilog="Examples:\n\n\b\n  digest prompts diff summarize@1 summarize@2\n"
    "  digest prompts diff summarize@1 summarize",
)
def diff_command(
    old: Annotated[str, typer.Argument(help="NAME@VERSION to compare from.")],
    new: Annotated[str, typer.Argument(help="NAME[@VERSION] to compare to (default: latest).")],
) -> None:
    """A unified diff of two prompt files: front matter and body, as stored."""
    import difflib

    from digest.errors import file_error

    texts = []
    for ref in (old, new):
        spec = load_prompt(ref)
        try:
            texts.append((spec.ref, spec.path.read_text(encoding="utf-8").splitlines(True)))
        except (OSError, UnicodeDecodeError) as exc:
            raise file_error(spec.path, exc) from None
    (a_ref, a_lines), (b_ref, b_lines) = texts
    diff = list(difflib.unified_diff(a_lines, b_lines, fromfile=a_ref, tofile=b_ref))
    print("".join(diff) if diff else f"{a_ref} and {b_ref} are the same", end="" if diff else "\n")
