"""Run one command and measure it as a user would feel it: wall time, CPU time and peak
memory of its whole process tree.

CPU and the largest single process's peak RSS come from ``os.wait4`` on the child (the
kernel's rusage of that child and every descendant it reaped), so each run is measured
on its own, not mixed with earlier runs as ``RUSAGE_CHILDREN`` of this process would be.
The tree's summed RSS (xdist's workers are separate processes) is sampled from /proc
every 20 ms where /proc exists; the figure reported is the larger of the two.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.02
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Measured:
    """One finished command."""

    returncode: int
    wall_s: float
    cpu_s: float
    peak_mib: float
    output: str


def measure(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> Measured:
    """Run ``argv`` to completion; stdout and stderr merged into ``output``."""
    with tempfile.TemporaryFile("w+") as out:
        began = time.perf_counter()
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, text=True
        )
        sampler = _TreeSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        output = out.read()
    largest_kib = usage.ru_maxrss  # KiB on Linux
    peak = max(largest_kib * 1024, sampler.peak_bytes) / 2**20
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(process.returncode, wall, cpu, round(peak, 1), output)


class _TreeSampler(threading.Thread):
    """The largest summed RSS seen over ``root`` and its descendants."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_bytes = 0
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()
        self.join(2)

    def run(self) -> None:
        if not Path("/proc/self/statm").exists():
            return
        while not self._done.is_set():
            self.peak_bytes = max(self.peak_bytes, tree_rss(self.root))
            self._done.wait(SAMPLE_S)


def tree_rss(root: int) -> int:
    """Summed resident bytes of ``root`` and its descendants, from /proc (0 when gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, frontier = {root}, [root]
    while frontier:
        below = children.get(frontier.pop(), [])
        tree.update(below)
        frontier.extend(below)
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total
