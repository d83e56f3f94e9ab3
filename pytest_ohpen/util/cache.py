"""The user's cache folder for what pytest-ohpen generates per machine (the embedded
Terraform provider's mirror, recorded Terraform applies, running embedded accounts).

One place decides where it is, so every command and test agrees: ``OHPEN_CACHE_DIR``,
else ``$XDG_CACHE_HOME/pytest-ohpen``, else ``~/.cache/pytest-ohpen``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pytest_ohpen.errors import ConfigError

CACHE_VARIABLE = "OHPEN_CACHE_DIR"


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder (not created here)."""
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_VARIABLE):
        return Path(environ[CACHE_VARIABLE]).expanduser()
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]).expanduser() / "pytest-ohpen"
    return Path.home() / ".cache" / "pytest-ohpen"


def usable_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The cache folder, created, for what cannot work without it (the embedded account keeps
    its Terraform provider and recorded applies there): ConfigError, one line naming where
    the folder came from and the fix, when it is not a folder this user can write."""
    environ = os.environ if environ is None else environ
    path = cache_dir(environ)
    problem = None
    if path.exists() and not path.is_dir():
        problem = "it is not a folder"
    else:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = f"it cannot be created: {error.strerror or error}"
        else:
            if not os.access(path, os.W_OK | os.X_OK):
                problem = "it is not writable"
    if problem is None:
        return path
    named = environ.get(CACHE_VARIABLE)
    where = f"{CACHE_VARIABLE}={named!r}" if named else f"the cache folder {path}"
    raise ConfigError(f"{where}: {problem}; set {CACHE_VARIABLE} to a folder you can write")
