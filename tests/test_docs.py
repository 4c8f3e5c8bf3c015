"""Docs kept honest: every command has help with an example, the README covers them all."""

from __future__ import annotations

import re

import pytest
import typer.main
from support.paths import REPO

from digest.cli import app, main
from digest.errors import ExitCode

README = REPO / "README.md"
TOP_LEVEL = ["run", "daily", "send", "preview", "correct", "models", "prompts", "cache", "eval"]


def command_paths() -> list[tuple[str, ...]]:
    """Every command and sub-command of the CLI, found from the app (so new ones count)."""
    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        paths.append(path)
        # Typer vendors its own click: look for sub-commands rather than a Group class.
        subs: dict[str, object] = getattr(command, "commands", None) or {}
        for name, sub in sorted(subs.items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths[1:]  # the root itself is tested on its own


def leaf_paths() -> list[tuple[str, ...]]:
    all_paths = command_paths()
    return [p for p in all_paths if not any(q[: len(p)] == p and q != p for q in all_paths)]


def group_paths() -> list[tuple[str, ...]]:
    leaves = set(leaf_paths())
    return [p for p in command_paths() if p not in leaves]


def help_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--help"])
    assert exit_info.value.code in (0, None)
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_the_cli_has_the_documented_commands() -> None:
    top = {p[0] for p in command_paths()}
    assert set(TOP_LEVEL) <= top
    assert {
        ("prompts", "list"),
        ("prompts", "show"),
        ("cache", "stats"),
        ("cache", "clear"),
    } <= set(command_paths())


def test_root_help_lists_every_command_and_a_start(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    for name in TOP_LEVEL:
        assert re.search(rf"^\s+{name}\s", text, flags=re.MULTILINE), name
    assert "digest run " in text


MISSING_EXAMPLES: dict[tuple[str, ...], str] = {}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p,
            marks=[pytest.mark.xfail(strict=True, reason=MISSING_EXAMPLES[p])]
            if p in MISSING_EXAMPLES
            else [],
        )
        for p in leaf_paths()
    ],
    ids=" ".join,
)
def test_every_command_help_has_an_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_text(capsys, *path)
    assert text.startswith(f"Usage: digest {' '.join(path)}")
    assert re.search(r"^\s*Examples?:", text, flags=re.MULTILINE), text
    # An example is a real invocation of this very command.
    assert re.search(rf"^\s+digest {re.escape(' '.join(path))}\b", text, flags=re.MULTILINE)


@pytest.mark.parametrize("path", group_paths(), ids=" ".join)
def test_every_group_help_lists_its_sub_commands(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_text(capsys, *path)
    subs = [p[-1] for p in command_paths() if len(p) == len(path) + 1 and p[:-1] == path]
    assert subs
    for name in subs:
        assert re.search(rf"^\s+{name}\s", text, flags=re.MULTILINE), name


def test_help_needs_no_key_or_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    # conftest removed every OPENAI_* variable: help must still work.
    assert "--lang" in help_text(capsys, "run")


def test_run_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_text(capsys, "run").split())
    for code, meaning in ((0, "published"), (3, "withheld"), (2, "usage"), (4, "endpoint")):
        assert re.search(rf"\b{code}\b[^,.;]*{meaning}", text), (code, meaning)


def test_readme_mentions_every_command() -> None:
    text = README.read_text("utf-8")
    for path in command_paths():
        assert f"digest {' '.join(path)}" in text, path


def test_readme_documents_every_exit_code() -> None:
    text = README.read_text("utf-8")
    for code in ExitCode:
        # A table row or list item that starts with the code: "| 3 |", "- 3:", "`3`".
        pattern = rf"(^\|\s*`?{code.value}`?\s*\|)|(^[-*]\s*`?{code.value}`?\b)"
        assert re.search(pattern, text, flags=re.MULTILINE), code
