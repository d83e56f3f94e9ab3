"""Where the run's state lives: ``config.stash``, under typed keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ohpen.config.settings import resolve
from pytest_ohpen.context import OhpenRun

if TYPE_CHECKING:
    from pytest_ohpen.plugin.prefetch import Prefetch

RUN_KEY = pytest.StashKey[OhpenRun]()
PREFETCH_KEY = pytest.StashKey["Prefetch"]()


def run_of(config: pytest.Config) -> OhpenRun:
    """The run's OhpenRun, created on first use."""
    if RUN_KEY not in config.stash:
        config.stash[RUN_KEY] = OhpenRun(lambda: resolve(config), config.rootpath)
    return config.stash[RUN_KEY]


def prefetch_of(config: pytest.Config) -> Prefetch | None:
    """The run's prefetch (``plugin.prefetch``), when one was started; asking costs no
    import of it, so a run that checks nothing (``--help``) never loads it."""
    return config.stash.get(PREFETCH_KEY, None)


@dataclass
class Selection:
    """What collection left out: only a run that left nothing out may mark known-good.

    ``deselected`` counts the items reported through ``pytest_deselected`` (-k, -m,
    --deselect, a conftest); ``narrowed`` is set when --lf dropped files or items without
    reporting them. With xdist each worker collects and sends its Selection to the controller.
    """

    deselected: int = 0
    narrowed: bool = False

    @property
    def everything(self) -> bool:
        """Whether every collected item was kept."""
        return not self.deselected and not self.narrowed

    def as_data(self) -> dict[str, Any]:
        """Plain data, to cross from an xdist worker."""
        return {"deselected": self.deselected, "narrowed": self.narrowed}

    def add(self, data: dict[str, Any]) -> None:
        """Take in what a worker's collection left out."""
        self.deselected += int(data.get("deselected", 0))
        self.narrowed = self.narrowed or bool(data.get("narrowed", False))


SELECTION_KEY = pytest.StashKey[Selection]()


def selection_of(config: pytest.Config) -> Selection:
    """The run's Selection, created on first use."""
    if SELECTION_KEY not in config.stash:
        config.stash[SELECTION_KEY] = Selection()
    return config.stash[SELECTION_KEY]
