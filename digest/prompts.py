"""Versioned prompt files: ``prompts/<name>/v<N>.md`` = YAML front matter + a Jinja body.

A published version is immutable: a change is a new file. ``name@N`` pins a version,
a bare ``name`` means the latest. The front matter is validated strictly (unknown keys
are errors) so a typo in a prompt file fails loudly instead of being ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from digest.answers import SCHEMAS, EvidencedSummaryAnswer
from digest.errors import UsageError, file_error, first_error
from digest.resources import data_dir

_FILE_RE = re.compile(r"^v(\d+)\.md$")
_SECTION_RE = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


class PromptSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str
    output: str = Field(description="schema name: " + ", ".join(SCHEMAS))
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=700, ge=16)
    # Passed to endpoints that take it (llama.cpp, vLLM); tiny models loop without it.
    repeat_penalty: float | None = Field(default=None, ge=1, le=2)
    system: str
    user: str
    path: Path
    # Per request, never from a file: how many numbered sentences the evidence ids may cite.
    _sentences: int | None = PrivateAttr(default=None)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def schema_model(self) -> type[BaseModel]:
        if self.output == "summary_evidence" and self._sentences is not None:
            return EvidencedSummaryAnswer.bounded(self._sentences)
        return SCHEMAS[self.output]

    @property
    def cites_sentences(self) -> bool:
        """The prompt shows the article as numbered sentences and asks for evidence ids."""
        return self.output == "summary_evidence"

    def for_sentences(self, count: int) -> PromptSpec:
        """This prompt for an article of ``count`` numbered sentences (bounds the ids)."""
        spec = self.model_copy()
        spec._sentences = count
        return spec

    def fingerprint(self) -> str:
        """Changes when the prompt text changes, so an edited-in-place file cannot reuse a cache."""
        blob = json.dumps(
            [self.system, self.user, self.output, self.temperature], ensure_ascii=False
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def render(self, **variables: Any) -> list[dict[str, str]]:
        """Chat messages for these variables; a missing variable is an error, not blank text."""
        env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        try:
            system = env.from_string(self.system).render(**variables).strip()
            user = env.from_string(self.user).render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise UsageError(f"prompt {self.ref}: missing variable ({exc.message})") from None
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def prompts_dir(root: Path | None = None) -> Path:
    return root if root is not None else data_dir("prompts")


def parse_prompt_file(path: Path) -> PromptSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(path, exc) from None
    if not text.startswith("---\n"):
        raise UsageError(f"prompt file {path}: must start with '---' front matter")
    try:
        _, front, body = text.split("---\n", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"prompt file {path}: bad front matter ({exc})") from None
    if not isinstance(meta, dict):
        raise UsageError(f"prompt file {path}: front matter must be a mapping")
    parts = _SECTION_RE.split(body)
    # split -> [preamble, "system", text, "user", text]
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise UsageError(f"prompt file {path}: body needs a [system] and a [user] section")
    try:
        spec = PromptSpec.model_validate({**meta, **sections, "path": path})
    except ValidationError as exc:
        raise UsageError(f"prompt file {path}: {first_error(exc)}") from None
    if spec.output not in SCHEMAS:
        raise UsageError(f"prompt file {path}: unknown output schema {spec.output!r}")
    match = _FILE_RE.match(path.name)
    if spec.name != path.parent.name or match is None or int(match.group(1)) != spec.version:
        raise UsageError(
            f"prompt file {path}: name/version ({spec.ref}) must match its path "
            f"prompts/{spec.name}/v{spec.version}.md"
        )
    try:
        jinja2.Environment().parse(spec.system + spec.user)
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(f"prompt file {path}: template error line {exc.lineno}: {exc}") from None
    return spec


def list_prompts(root: Path | None = None) -> list[PromptSpec]:
    base = prompts_dir(root)
    specs = [
        parse_prompt_file(path)
        for folder in sorted(p for p in base.iterdir() if p.is_dir())
        for path in folder.iterdir()
        if _FILE_RE.match(path.name)
    ]
    return sorted(specs, key=lambda s: (s.name, s.version))


def load_prompt(ref: str, root: Path | None = None) -> PromptSpec:
    """``summarize`` (latest) or ``summarize@2`` (pinned)."""
    name, _, version = ref.partition("@")
    folder = prompts_dir(root) / name
    if not name or not re.fullmatch(r"[a-z0-9_-]+", name) or not folder.is_dir():
        raise UsageError(f"unknown prompt {name!r} (see: digest prompts list)")
    versions = sorted(
        int(m.group(1)) for p in folder.iterdir() if (m := _FILE_RE.match(p.name)) is not None
    )
    if not versions:
        raise UsageError(f"prompt {name!r} has no versions")
    if version:
        if not version.isdigit() or int(version) not in versions:
            known = ", ".join(f"{name}@{v}" for v in versions)
            raise UsageError(f"unknown prompt version {ref!r} (known: {known})")
        chosen = int(version)
    else:
        chosen = versions[-1]
    return parse_prompt_file(folder / f"v{chosen}.md")


def wire_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, inlined and without titles: what endpoints are sent."""
    schema = model.model_json_schema()

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in {"title", "description"}}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return dict(strip(schema))
