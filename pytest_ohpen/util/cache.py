"""The user's cache folder for what pytest-ohpen generates per machine (the embedded
Terraform provider's mirror, recorded Terraform applies, running embedded accounts).

One place decides where it is, so every command and test agrees: ``OHPEN_CACHE_DIR``,
else ``$XDG_CACHE_HOME/pytest-ohpen``, else ``~/.cache/pytest-ohpen``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CACHE_VARIABLE = "OHPEN_CACHE_DIR"


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder (not created here)."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_VARIABLE):
        return Path(environ[CACHE_VARIABLE]).expanduser()
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]).expanduser() / "pytest-ohpen"
    return Path.home() / ".cache" / "pytest-ohpen"
