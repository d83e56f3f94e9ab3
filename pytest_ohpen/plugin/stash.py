"""Where the run's state lives: ``config.stash``, under a typed key."""

from __future__ import annotations

import pytest

from pytest_ohpen.config.settings import resolve
from pytest_ohpen.context import OhpenRun

RUN_KEY = pytest.StashKey[OhpenRun]()


def run_of(config: pytest.Config) -> OhpenRun:
    """The run's OhpenRun, created on first use."""
    if RUN_KEY not in config.stash:
        config.stash[RUN_KEY] = OhpenRun(lambda: resolve(config), config.rootpath)
    return config.stash[RUN_KEY]
