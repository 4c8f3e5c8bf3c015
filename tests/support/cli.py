"""Run the real CLI entry point in-process and collect what a user would see."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from digest.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("digest: error:")]


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``digest ARGS...`` through digest.cli.main, so errors are translated as for a user."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    code = exit_info.value.code
    return Result(code if isinstance(code, int) else 1, captured.out, captured.err)
