"""`digest eval [run] SAMPLES...` and `digest eval compare A.json B.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from digest.commands.common import BaseUrlOption, ConfigOption, flags, notice
from digest.config import load_settings


class RunByDefault(TyperGroup):
    """`digest eval SAMPLES...` is `digest eval run SAMPLES...`, as `llm 'a prompt'` is
    `llm prompt 'a prompt'` (click-default-group)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=RunByDefault,
    help="Measure prompts x models x strategies on sample articles, and compare two "
    "evaluations. `digest eval SAMPLES...` is short for `digest eval run SAMPLES...`.",
    no_args_is_help=True,
)

RUN_EXAMPLES = """Examples:

\b
  digest eval run seeds/ --lang en,tr,ar,de
  digest eval seeds/ --lang en,tr --prompt summarize@1 --prompt summarize@2
  digest eval run seeds/ -m gemma3-270m -m smollm2-135m-instruct --strategy pivot --strategy direct
  digest eval run seeds/ --model-file qwen2.5-7b-instruct-q4_k_m.gguf --json eval.json
  OPENAI_BASE_URL=http://localhost:11434/v1 digest eval run seeds/ -m llama3.1 -m qwen2.5:7b
"""
COMPARE_EXAMPLES = """Example:

\b
  digest eval compare eval/eval-2025-03-14T090000.json eval/eval-2025-03-15T090000.json
"""


@app.command("run", epilog=RUN_EXAMPLES)
def run_command(
    samples: Annotated[
        list[str], typer.Argument(help="Sample articles: files (.txt .md .html) or folders.")
    ],
    lang: Annotated[
        str | None, typer.Option("--lang", "-l", help="Languages, BCP-47, comma-separated.")
    ] = None,
    prompt: Annotated[
        list[str] | None,
        typer.Option(
            "--prompt",
            help="Summarize or translate prompt name[@version] (repeat to compare; default "
            "latest). A translate prompt varies the translation step of the pivot strategy.",
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Model at the endpoint, or a bundled model when none is set (repeatable).",
        ),
    ] = None,
    model_file: Annotated[
        list[Path] | None,
        typer.Option("--model-file", help="A GGUF file run locally (repeatable)."),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", help="pivot or direct (repeat for both; default: pivot)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON here.")
    ] = None,
    save: Annotated[
        Path, typer.Option("--save", help="Folder for the dated report file, to compare later.")
    ] = Path("eval"),
    base_url: BaseUrlOption = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="Cache file (SQLite).")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the cache.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Run every prompt x model x strategy on the samples and print one table.

    Per combination: published share and by origin (the model, a translation, the
    extract, the article-language summary in place), failures per check, claims
    supported, LLM calls, tokens, seconds per published item (as recorded when the
    answers were paid for: a cached re-run costs nothing and reports the same); then,
    per language, one sample output of each combination. The report is saved as a
    dated JSON file under --save (default eval/) for `digest eval compare`.
    """
    from digest.eval_report import report_text
    from digest.evaluate import ModelChoice, run_eval, save_report, write_report

    settings = load_settings(
        flags(
            languages=lang.split(",") if lang else None,
            base_url=base_url,
            cache=cache,
            no_cache=no_cache,
        ),
        config,
    )
    models = [ModelChoice(name=m) for m in model or []]
    models += [ModelChoice(file=f) for f in model_file or []]
    report = run_eval(
        samples,
        settings,
        prompts=prompt or [settings.prompt],
        models=models or [ModelChoice()],
        strategies=strategy or [settings.strategy],
        notice=notice,
        on_combination=lambda i, n, c: notice(f"combination {i}/{n}: {c.key}"),
    )
    print(report_text(report))
    if json_out is not None:
        write_report(report, json_out)
        notice(f"wrote {json_out}")
    notice(f"saved {save_report(report, save)} (compare with: digest eval compare A B)")


@app.command("compare", epilog=COMPARE_EXAMPLES)
def compare_command(
    old: Annotated[Path, typer.Argument(help="The earlier report (JSON from digest eval).")],
    new: Annotated[Path, typer.Argument(help="The later report.")],
) -> None:
    """What changed per combination (prompt x model x strategy) from one report to another."""
    from digest.eval_report import compare_text
    from digest.evaluate import load_report

    print(compare_text(load_report(old), load_report(new), (str(old), str(new))))
