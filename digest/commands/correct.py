"""``digest correct``: correct a story in an edition already sent (library: digest.desk)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest.commands.common import ConfigOption, flags
from digest.config import load_settings


def correct(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="The sent edition folder (has manifest.json).")
    ],
    story: Annotated[
        str,
        typer.Option(
            "--story", metavar="ID", help="Article id from manifest.json (its first 4+ chars do)."
        ),
    ],
    lang: Annotated[str, typer.Option("--lang", metavar="L", help="The language to correct.")],
    note: Annotated[
        str, typer.Option("--note", metavar="TEXT", help="For readers: what was wrong.")
    ],
    headline: Annotated[
        str | None, typer.Option("--headline", metavar="TEXT", help="New headline.")
    ] = None,
    summary: Annotated[
        str | None, typer.Option("--summary", "--text", metavar="TEXT", help="New summary.")
    ] = None,
    point: Annotated[
        list[str] | None,
        typer.Option("--point", metavar="TEXT", help="New key points (repeat 3-5 times)."),
    ] = None,
    force: Annotated[
        str | None,
        typer.Option(metavar="REASON", help="Publish although a check fails, for this reason."),
    ] = None,
    editor: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Who corrects [default: config editor, OS user]."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Correct one story in one language of an edition already sent. What is not given
    stays as sent. The new text passes the same checks as model output.

    The archive copy (DIR) is re-rendered with the corrected text and a dated note; the
    correction, and who received the earlier text (DIR/send-log.jsonl), are recorded in
    DIR/review.json (the manifest keeps how many, not their addresses). The next dated
    edition under the same folder (`digest daily`) carries it under "Corrections". Before
    a language is sent, edit it with `digest preview DIR --review` instead.

    \b
    Examples:
      digest correct briefings/2025-03-14 --story 3f9a --lang en \\
          --summary "The council voted 23 to 4, not 32 to 4, on Tuesday." \\
          --note "The vote was 23 to 4."
      digest correct digest-out --story 3f9a2c --lang tr --headline "..." --note "..."

    \b
    Prints who received the earlier text. Exit code 2 for an unknown story or language,
    a text that fails the checks (without --force) or an edition nobody received.
    """
    settings = load_settings(flags(editor=editor), config)
    from digest.desk import Desk, default_editor  # lazy: keeps `digest --help` fast

    correction = Desk(folder).correct(
        story,
        lang,
        editor=settings.review.editor or default_editor(),
        note=note,
        headline=headline,
        summary=summary,
        points=point or None,
        force=force or "",
    )
    print(
        f'corrected [{correction.lang}] {correction.article_id} "{correction.summary.headline}" '
        f"in {folder} ({correction.at.date().isoformat()}, by {correction.editor})"
    )
    people = correction.recipients
    print(f"received the earlier text: {len(people)} recipient(s): {', '.join(people)}")
