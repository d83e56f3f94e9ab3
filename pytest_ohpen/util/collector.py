"""Python's cyclic garbage collector, relaxed while a run does its AWS work.

A run that checks an environment builds hundreds of thousands of objects that live to its
end (botocore's service models, each client's handlers, the embedded account's moto
modules and backends). With CPython's thresholds a young collection runs every 700
allocations and full collections walk the whole, growing heap again and again: measured on
the embedded smoke run, about 0.45 s of a 2.9 s run (``python bench/bench_smoke.py``,
before and after). ``relax`` freezes what exists at configure time (pytest, its plugins,
the modules imported so far: they live to the end anyway) and lets 50,000 allocations
pass between young collections; ``restore`` puts the thresholds back at unconfigure, and
``spare_exit`` freezes the heap once more as the run ends, so pytest's final ``gc.collect()``
and the collections during interpreter exit do not walk it again.
Frozen objects are still freed by reference counting (only a cycle among them waits for
the process to end); cycles made later are collected as ever, less often.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations between two young-generation collections while relaxed (CPython's: 700)."""


def relax() -> tuple[int, ...]:
    """Freeze the heap as it is and raise the young threshold; the thresholds it replaced."""
    saved = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(saved[0], YOUNG_THRESHOLD), *saved[1:])
    return saved


def restore(saved: tuple[int, ...]) -> None:
    """Put back the thresholds ``relax`` replaced."""
    gc.set_threshold(*saved)


def spare_exit() -> None:
    """Move everything alive now out of the collector's reach for the rest of the process:
    what a run that checked AWS holds (botocore's heap) lives to the end, and everything is still
    freed by reference counting."""
    gc.freeze()
