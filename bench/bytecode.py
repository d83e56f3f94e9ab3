"""Bytecode caching for the benchmarks' commands, the same for every approach they compare.

pip compiles an installed package's modules (boto3's, pytest's) at install time; an editable
checkout's are compiled on first import, and a pytest11 plugin's (this one, editable or not)
are assertion-rewritten by pytest and kept as ``*-pytest-X.pyc`` beside them. With
PYTHONDONTWRITEBYTECODE set nothing is kept, so every run of the plugin parses and compiles
its modules again (about 0.15 s here) while a plain boto3 script reads pip's bytecode. The
benchmarks therefore run every command with bytecode written to and read from one scratch
cache (PYTHONPYCACHEPREFIX, which pytest's rewrite cache follows too): a user's machine after
the first run, and the repository is not written to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def bytecode_cache() -> str:
    """Whether this shell caches imported modules' bytecode between runs."""
    off = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    return "off (PYTHONDONTWRITEBYTECODE set)" if off else "on"


def warm_cache_env(cache_dir: str) -> dict[str, str | None]:
    """Bytecode written to and read from a scratch cache (PYTHONPYCACHEPREFIX), as on a
    user's machine after the first run; None removes a variable."""
    return {"PYTHONDONTWRITEBYTECODE": None, "PYTHONPYCACHEPREFIX": cache_dir}


def overlaid(env: Mapping[str, str], overrides: Mapping[str, str | None]) -> dict[str, str]:
    """``env`` with ``overrides`` laid over it, a None value removing its variable (the form
    :func:`warm_cache_env` returns)."""
    merged: dict[str, str | None] = {**env, **overrides}
    return {name: value for name, value in merged.items() if value is not None}
