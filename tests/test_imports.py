"""Every module imports on its own, first, in a fresh interpreter: no import cycle hides
behind the order the CLI happens to import things in (importing digest.ingest.sentences
first once failed: sentences -> checks -> gate -> claims -> sentences)."""

from __future__ import annotations

import subprocess
import sys

from support.paths import REPO

SCRIPT = """
import importlib, pkgutil, sys
import digest
modules = pkgutil.walk_packages(digest.__path__, "digest.")
names = sorted(m.name for m in modules if m.name != "digest.__main__")  # that one runs the CLI
failed = []
for name in names:
    for loaded in [k for k in sys.modules if k == "digest" or k.startswith("digest.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - report every module that fails
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names))
print("\\n".join(failed))
"""


def test_every_module_imports_first() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    count, *failed = result.stdout.strip().splitlines()
    assert int(count) > 60
    assert failed == [], "\n".join(failed)
