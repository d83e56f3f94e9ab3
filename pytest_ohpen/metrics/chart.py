"""A PNG of rollback durations and MTTR over the window, with the targets as dashed lines.

Drawn without any dependency (no font, no matplotlib): a small RGB raster encoded as PNG
with zlib, so a scheduled job can attach it wherever it runs.
"""

from __future__ import annotations

import math
import struct
import zlib
from datetime import datetime
from pathlib import Path

from pytest_ohpen.metrics.figures import Metrics, months
from pytest_ohpen.metrics.targets import (
    AUTOMATED_TARGET_SECONDS,
    MANUAL_TARGET_SECONDS,
    MTTR_TARGET_SECONDS,
)
from pytest_ohpen.util.files import write_atomic

CHART_WIDTH, CHART_HEIGHT = 720, 360
WHITE = (255, 255, 255)
AXIS = (40, 40, 40)
GRID = (228, 228, 228)
QUARTER_GRID = (170, 170, 170)
AUTOMATED_COLOUR = (31, 119, 180)
"""Blue: automated rollback durations (squares) and their 10 min target (dashed line)."""
MANUAL_COLOUR = (255, 127, 14)
"""Orange: manual rollback durations (squares) and their 30 min target (dashed line)."""
MTTR_COLOUR = (214, 39, 40)
"""Red: the running mean MTTR (solid step line) and the 1 h target (dashed line)."""
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 16, 16, 30


class _Canvas:
    """An RGB raster with the few drawing operations the chart needs (clipped)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(WHITE) * (width * height))

    def dot(self, x: int, y: int, colour: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            at = (y * self.width + x) * 3
            self.pixels[at : at + 3] = bytes(colour)

    def hline(self, x0: int, x1: int, y: int, colour: tuple[int, int, int], dash: int = 0) -> None:
        for x in range(x0, x1 + 1):
            if not dash or (x - x0) // dash % 2 == 0:
                self.dot(x, y, colour)

    def vline(self, x: int, y0: int, y1: int, colour: tuple[int, int, int]) -> None:
        for y in range(y0, y1 + 1):
            self.dot(x, y, colour)

    def square(self, x: int, y: int, r: int, colour: tuple[int, int, int], filled: bool) -> None:
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if filled or abs(dx) == r or abs(dy) == r:
                    self.dot(x + dx, y + dy, colour)

    def png(self) -> bytes:
        """The raster as a PNG: 8-bit RGB, no interlace, filter 0 on every row."""
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


def _grid_step(top: float) -> float:
    """Horizontal grid spacing in seconds: the finest of 10 min, 30 min, 1 h, ... with <= 12."""
    for step in (600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0):
        if top / step <= 12:
            return step
    return float(math.ceil(top / 12 / 86400) * 86400)


def chart_bytes(metrics: Metrics) -> bytes:
    """The chart as PNG bytes; see :func:`chart_png`."""
    canvas = _Canvas(CHART_WIDTH, CHART_HEIGHT)
    x0, x1 = _LEFT, CHART_WIDTH - _RIGHT
    y0, y1 = _TOP, CHART_HEIGHT - _BOTTOM
    span = (metrics.now - metrics.since).total_seconds()
    values = [r.duration_seconds for r in metrics.rollbacks]
    top = max([*values, AUTOMATED_TARGET_SECONDS, MANUAL_TARGET_SECONDS, MTTR_TARGET_SECONDS])
    top *= 1.1

    def x_of(moment: datetime) -> int:
        return x0 + round((moment - metrics.since).total_seconds() / span * (x1 - x0))

    def y_of(seconds: float) -> int:
        return y1 - round(seconds / top * (y1 - y0))

    step = _grid_step(top)
    level = step
    while level < top:
        canvas.hline(x0, x1, y_of(level), GRID)
        level += step
    for month in months(metrics.since, metrics.now):
        if month > metrics.since:
            colour = QUARTER_GRID if month.month % 3 == 1 else GRID
            canvas.vline(x_of(month), y0, y1, colour)
    for limit, colour in (
        (AUTOMATED_TARGET_SECONDS, AUTOMATED_COLOUR),
        (MANUAL_TARGET_SECONDS, MANUAL_COLOUR),
        (MTTR_TARGET_SECONDS, MTTR_COLOUR),
    ):
        for thickness in (0, 1):
            canvas.hline(x0, x1, y_of(limit) + thickness, colour, dash=8)
    for thickness in (0, 1):
        canvas.vline(x0 - thickness, y0, y1, AXIS)
        canvas.hline(x0, x1, y1 + thickness, AXIS)
    for rollback in metrics.rollbacks:
        x = x_of(rollback.started_at)
        colour = AUTOMATED_COLOUR if rollback.automated else MANUAL_COLOUR
        # hollow: the first attempt did not restore service
        canvas.square(x, y_of(rollback.duration_seconds), 4, colour, rollback.first_attempt_success)
    # MTTR over time: the running mean after each recovery, as a solid step line
    recoveries = sorted(
        (r.finished_at, s) for r in metrics.rollbacks if (s := r.recovery_seconds) is not None
    )
    total = 0.0
    for n, (finished, seconds) in enumerate(recoveries, start=1):
        previous = None if n == 1 else y_of(total / (n - 1))
        total += seconds
        x, y = x_of(min(finished, metrics.now)), y_of(total / n)
        end = x_of(min(recoveries[n][0], metrics.now)) if n < len(recoveries) else x1
        for thickness in (0, 1):
            if previous is not None:
                canvas.vline(x + thickness, min(previous, y), max(previous, y), MTTR_COLOUR)
            canvas.hline(x, end, y + thickness, MTTR_COLOUR)
    return canvas.png()


def chart_png(metrics: Metrics, path: Path) -> None:
    """Write a PNG of rollback durations and MTTR over the window, targets as dashed lines.

    No text is drawn (no font, no matplotlib): x is time (grey lines at month starts,
    darker at quarter starts), y is duration from 0 (grey lines every 10 min or coarser).
    Blue squares are automated rollbacks, orange manual ones (hollow: the first attempt
    failed); the solid red step line is the mean MTTR so far, after each recovery; the
    dashed lines are the 10 min (blue), 30 min (orange) and 1 h (red) targets. The file is
    replaced atomically.
    """
    write_atomic(Path(path), chart_bytes(metrics))
