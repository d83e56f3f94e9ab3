"""The garbage collector relaxed for a run's AWS work and put back after it (issue 14)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pytest_ohpen.util import collector


@pytest.fixture
def thresholds() -> Iterator[tuple[int, ...]]:
    """The process's thresholds, restored whatever the test does; frozen objects thawed."""
    saved = gc.get_threshold()
    yield saved
    gc.set_threshold(*saved)
    gc.unfreeze()


def test_relax_raises_only_the_young_threshold_and_freezes_what_exists(
    thresholds: tuple[int, ...],
) -> None:
    gc.set_threshold(700, 10, 10)
    before = gc.get_freeze_count()
    replaced = collector.relax()
    assert replaced == (700, 10, 10)
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, 10, 10)
    assert gc.get_freeze_count() > before


def test_a_threshold_already_higher_is_kept(thresholds: tuple[int, ...]) -> None:
    gc.set_threshold(200_000, 5, 5)
    collector.relax()
    assert gc.get_threshold() == (200_000, 5, 5)


def test_restore_puts_back_what_relax_replaced(thresholds: tuple[int, ...]) -> None:
    gc.set_threshold(1000, 12, 13)
    collector.restore(collector.relax())
    assert gc.get_threshold() == (1000, 12, 13)


def test_cycles_made_while_relaxed_are_still_collected(thresholds: tuple[int, ...]) -> None:
    class Node:
        pass

    collector.relax()
    node = Node()
    node.me = node  # type: ignore[attr-defined]
    del node
    assert gc.collect() >= 1


def test_the_exit_freeze_leaves_the_live_heap_to_reference_counting(
    thresholds: tuple[int, ...],
) -> None:
    """What lives as the run ends is not walked by the last collections; what dies later
    is still freed, and a cycle made after it is still collected."""

    class Node:
        pass

    held = [Node() for _ in range(100)]
    before = gc.get_freeze_count()
    collector.spare_exit()
    assert gc.get_freeze_count() >= before + len(held)
    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    del cycle
    assert gc.collect() >= 1
