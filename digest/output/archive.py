"""``digest archive OUT --site DIR``: a static site over every dated edition in OUT.

    DIR/index.html                  every language and every edition, newest first
    DIR/<lang>/index.html           one language: search box, its editions, its feeds
    DIR/<lang>/<YYYY-MM-DD>.html    one edition in one language (lang/dir set per language)
    DIR/feed.<lang>.{xml,json}      the archive's Atom and JSON feeds (digest.output.feeds)
    DIR/pagefind/                   Pagefind's full-text index, one per language, searched in
                                    the browser from static files (no server code)

Pages are built from each edition's manifest through the renderer's view model, so text is
cleaned and escaped and links are http(s) only, exactly as in the email. The site is built
in a folder beside DIR and swapped in at the end: a reader never sees half an archive, and
an edition removed from OUT disappears from the site. DIR must be empty, new, or an earlier
archive (it holds ``.digest-archive``): nothing else is ever deleted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from digest.errors import DigestError, ExitCode, InputError, UsageError
from digest.manifest import MANIFEST, Manifest
from digest.output.feeds import archive_page, edition_views, feed_name, write_archive_feeds
from digest.output.render import make_environment
from digest.output.views import EditionView
from digest.resources import data_dir

MARK = ".digest-archive"
STATIC = ("archive.css", "archive.js")
PAGEFIND_TIMEOUT = 600.0
_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Notice = Callable[[str], None]


class ArchiveReport(BaseModel):
    site: Path
    editions: int
    languages: list[str]
    pages: int
    indexed: str  # what Pagefind says it indexed ("12 pages, 2 languages")
    warnings: list[str]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.PARTIAL if self.warnings else ExitCode.OK

    def summary(self) -> str:
        skipped = f", skipped {len(self.warnings)} folder(s)" if self.warnings else ""
        return (
            f"{self.site}/ (serve it over HTTP; open index.html): {self.editions} edition(s) "
            f"in {len(self.languages)} language(s) ({', '.join(self.languages)}), "
            f"{self.pages} page(s), search index: {self.indexed}{skipped}"
        )


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    dir: str
    href: str  # from the site's top
    title: str


@dataclass(frozen=True)
class PageLinks:
    feed_xml: str
    feed_json: str
    languages: list[LanguageLink]


@dataclass(frozen=True)
class EditionEntry:
    date: str
    title: str
    href: str  # from the language's folder
    stories: int


@dataclass(frozen=True)
class LanguageView:
    code: str
    dir: str
    title: str
    strings: dict[str, str]
    editions: list[EditionEntry]
    feed_xml: str
    feed_json: str


@dataclass(frozen=True)
class SiteEdition:
    date: str
    languages: list[LanguageLink]


@dataclass(frozen=True)
class SiteView:
    title: str
    languages: list[LanguageLink]
    editions: list[SiteEdition]


def find_editions(out: Path) -> tuple[list[Manifest], list[str]]:
    """Every ``OUT/YYYY-MM-DD/`` with a readable manifest, newest first; a dated folder that
    has none (an unfinished run) or a broken one is a warning, not the end of the archive."""
    if not out.is_dir():
        raise InputError(f"{out}: no such folder (the --out folder of `digest daily`)")
    manifests, warnings = [], []
    for folder in sorted((p for p in out.iterdir() if p.is_dir()), reverse=True):
        if not _DATED.match(folder.name):
            continue
        if not (folder / MANIFEST).is_file():
            warnings.append(f"{folder}: no {MANIFEST} (an unfinished edition?); skipped")
            continue
        try:
            manifests.append(Manifest.load(folder))
        except InputError as exc:
            warnings.append(f"{exc.message}; skipped")
    if not manifests:
        raise InputError(
            f"no dated editions in {out} (folders YYYY-MM-DD with a {MANIFEST}: "
            "run `digest daily` first)"
        )
    return manifests, warnings


def _check_site(out: Path, site: Path) -> None:
    out, site = out.resolve(), site.resolve()
    if out == site or out.is_relative_to(site) or site.is_relative_to(out):
        raise UsageError(f"--site {site} must be a folder apart from {out}")
    if site.exists() and not site.is_dir():
        raise UsageError(f"--site {site} is a file")
    if site.is_dir() and any(site.iterdir()) and not (site / MARK).exists():
        raise UsageError(
            f"--site {site} is not empty and not a digest archive; choose a new or empty folder"
        )


def pagefind_executable() -> Path:
    """The Pagefind binary: $PAGEFIND_BINARY_PATH, the ``pagefind_bin`` wheel, or the PATH."""
    override = os.environ.get("PAGEFIND_BINARY_PATH")
    if override:
        return Path(override)
    try:
        from pagefind_bin import get_executable

        return Path(get_executable())
    except (ImportError, FileNotFoundError):
        found = shutil.which("pagefind")
        if found:
            return Path(found)
    raise DigestError("the Pagefind binary is missing: pip install 'pagefind[bin]'")


def index_site(folder: Path) -> str:
    """Run Pagefind over the built pages (offline: a local binary reading local files)."""
    try:
        done = subprocess.run(
            [str(pagefind_executable()), "--site", str(folder)],
            capture_output=True,
            text=True,
            timeout=PAGEFIND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DigestError(f"Pagefind could not index the archive: {exc}") from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        last = [line for line in output.splitlines() if line.strip()][-1:] or ["no output"]
        raise DigestError(f"Pagefind failed (exit {done.returncode}): {last[0].strip()}")
    counts = re.findall(r"Indexed (\d+) (page|language)s?", output)
    return ", ".join(f"{n} {kind}(s)" for n, kind in counts) or "done"


def _language_link(view: EditionView, href: str) -> LanguageLink:
    return LanguageLink(view.code, view.native_name, view.dir, href, view.title)


def build_archive(
    out: Path, site: Path, *, site_url: str | None = None, notice: Notice = lambda _m: None
) -> ArchiveReport:
    """Build the whole site beside ``site``, index it, then swap it in."""
    manifests, warnings = find_editions(out)
    _check_site(out, site)
    for warning in warnings:
        notice(warning)
    build = site.parent / f".{site.name}.building-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    try:
        report = _write_site(manifests, build, site_url)
        indexed = index_site(build)
        (build / MARK).write_text("built by `digest archive`; rebuilt whole each time\n")
        _swap(build, site)
    except OSError as exc:
        shutil.rmtree(build, ignore_errors=True)
        raise DigestError(f"cannot write the archive {site}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return ArchiveReport(site=site, indexed=indexed, warnings=warnings, **report)


def _write_site(manifests: list[Manifest], build: Path, site_url: str | None) -> dict[str, Any]:
    env = make_environment()
    editions = [(manifest, edition_views(manifest)) for manifest in manifests]
    pages = 0
    by_lang: dict[str, list[tuple[Manifest, EditionView]]] = {}
    site_editions: list[SiteEdition] = []
    for manifest, views in editions:
        day = manifest.edition_date.isoformat()
        links = [_language_link(view, archive_page(day, view.code)) for view in views]
        site_editions.append(SiteEdition(day, links))
        for view in views:
            by_lang.setdefault(view.code, []).append((manifest, view))
            page = PageLinks(feed_name(view.code, "xml"), feed_name(view.code, "json"), links)
            _render(env, "page.html.j2", build / archive_page(day, view.code), e=view, p=page)
            pages += 1
    languages: list[LanguageLink] = []
    for code, entries in by_lang.items():
        newest = entries[0][1]
        languages.append(_language_link(newest, f"{code}/index.html"))
        language = LanguageView(
            code=code,
            dir=newest.dir,
            title=newest.title,
            strings=newest.strings,
            editions=[
                EditionEntry(
                    m.edition_date.isoformat(),
                    v.title,
                    Path(archive_page(m.edition_date.isoformat(), code)).name,
                    v.published,
                )
                for m, v in entries
            ],
            feed_xml=feed_name(code, "xml"),
            feed_json=feed_name(code, "json"),
        )
        _render(env, "language.html.j2", build / code / "index.html", v=language)
    title = manifests[0].title
    site_view = SiteView(title, languages, site_editions)
    _render(env, "index.html.j2", build / "index.html", v=site_view, root="")
    for name in STATIC:
        shutil.copyfile(data_dir("templates") / "archive" / name, build / name)
    write_archive_feeds(editions, build, site_url)
    return {"editions": len(manifests), "languages": list(by_lang), "pages": pages}


def _render(env: jinja2.Environment, name: str, path: Path, **context: Any) -> None:
    context.setdefault("root", "../")
    try:
        text = env.get_template(f"archive/{name}").render(**context)
    except jinja2.TemplateError as exc:
        raise DigestError(f"template archive/{name} failed: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _swap(build: Path, site: Path) -> None:
    """The new site in place of the old one, with the old one gone only once it is."""
    old = site.parent / f".{site.name}.old-{os.getpid()}"
    if site.exists():
        site.rename(old)
    build.rename(site)
    shutil.rmtree(old, ignore_errors=True)
