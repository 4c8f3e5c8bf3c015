"""Where the repository's files are, for every test."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
SEED = SEEDS / "000_e2a5421fd2ec2f6f.txt"
EXAMPLES = REPO / "examples"
