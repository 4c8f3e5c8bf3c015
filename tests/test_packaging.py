"""Reproducible installs: the tested versions are pinned in requirements/constraints.txt,
which the README's commands and .ci/run install from, and which covers every dependency
pyproject.toml declares (a new upstream release must never reach a user untested)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support.paths import REPO

CONSTRAINTS = REPO / "requirements" / "constraints.txt"
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;(.*))?$")


def pins() -> dict[str, str]:
    """Name -> pinned version, for the pins whose environment marker holds here (the lock
    is universal: numpy has one pin below Python 3.12 and another above)."""
    found: dict[str, str] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match and (not match.group(3) or Marker(match.group(3).strip()).evaluate()):
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})  # test, and one per bundled model
    return [Requirement(r) for r in [*project["dependencies"], *sum(extras.values(), [])]]


def test_every_declared_dependency_is_pinned_to_a_version_it_allows() -> None:
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not in {CONSTRAINTS.name}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{requirement.name}: pyproject says {requirement.specifier}, the lock pins "
            f"{pinned[name]}; refresh the lock (README, Development)"
        )


def test_html_cleaning_is_a_direct_dependency() -> None:
    # lxml 6.1.3 dropped the html_clean extra that justext relied on: HTML input broke on
    # a fresh install. We depend on the separate project ourselves.
    names = {canonicalize_name(r.name) for r in declared()}
    assert "lxml-html-clean" in names
    assert "lxml-html-clean" in pins()


def required_here() -> set[str]:
    """The distributions digest and its installed extras pull in, found by walking the
    installed metadata: what the lock governs in this environment. (The venv's own pip and
    setuptools are not, unless something installed needs them: setuptools is pinned only
    for the smollm2 extra's `llm`.)"""
    seen: set[str] = set()
    todo = [("digest", frozenset({"test"}))]
    while todo:
        name, extras = todo.pop()
        if canonicalize_name(name) in seen:
            continue
        seen.add(canonicalize_name(name))
        try:
            requirements = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in requirements:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return seen


def test_the_installed_versions_are_the_pinned_ones() -> None:
    """The suite runs in an environment installed from the lock (README, .ci/run)."""
    drift = []
    needed = required_here()
    assert {"openai", "jinja2", "typer", "tenacity", "pytest"} <= needed
    for name, pinned in pins().items():
        if name not in needed:
            continue  # e.g. a pin only some platform's or extra's dependency tree needs
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if installed != pinned:
            drift.append(f"{name} {installed} (pinned {pinned})")
    assert not drift, "installed without -c requirements/constraints.txt: " + ", ".join(drift)


def test_readme_and_ci_install_from_the_lock() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c requirements/constraints.txt" in ci
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quick_start, re.DOTALL)
    assert len(commands) >= 2
    assert all("-c requirements/constraints.txt" in c for c in commands[:2])
    test_command = commands[1].strip()
    assert test_command in ci, "the CI script must run exactly the README's test command"
