"""Where templates, prompts and seeds live: inside the wheel when installed, at the top of
the source tree when running from a checkout (editable install or ``python -m``)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``templates``, ``prompts`` or ``seeds``: the installed copy, else the checkout's."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"digest is installed without its {name}/ folder ({installed})")
