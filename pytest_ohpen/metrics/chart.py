"""A PNG of rollback durations and MTTR over the window, against the playbook's targets.

Drawn with matplotlib (the optional ``charts`` extra), imported only when a chart is asked
for, so ``ohpen metrics`` without ``--chart`` never needs it. The figure carries all its
text (title, axes with units, dates, legend, labelled target lines), so it can be attached
to a ticket or a chat message and read without the terminal caption.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ohpen.metrics.figures import Metrics
from pytest_ohpen.metrics.targets import (
    AUTOMATED_TARGET_SECONDS,
    MANUAL_TARGET_SECONDS,
    MTTR_TARGET_SECONDS,
)
from pytest_ohpen.util.files import write_atomic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NEEDS_MATPLOTLIB = "ohpen metrics --chart needs matplotlib: pip install 'pytest-ohpen[charts]'"
SIZE_INCHES, DPI = (10.0, 5.5), 100
"""1000 x 550 pixels: readable in a chat preview, small enough to attach anywhere."""
AUTOMATED_COLOUR = "#1f77b4"
MANUAL_COLOUR = "#ff7f0e"
MTTR_COLOUR = "#d62728"
TARGETS = (
    ("automated target (10 min)", AUTOMATED_TARGET_SECONDS, AUTOMATED_COLOUR),
    ("manual target (30 min)", MANUAL_TARGET_SECONDS, MANUAL_COLOUR),
    ("MTTR target (1 h)", MTTR_TARGET_SECONDS, MTTR_COLOUR),
)
"""The playbook's targets, drawn as labelled dashed horizontal lines."""
NO_DATA = "no data: no rollback in this window"


class ChartUnavailable(Exception):
    """matplotlib is not installed (the ``charts`` extra)."""


def require_matplotlib() -> None:
    """Raise ChartUnavailable unless matplotlib can be imported, before any work is done."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ChartUnavailable(NEEDS_MATPLOTLIB) from None


def _minutes(seconds: float) -> float:
    return seconds / 60.0


def _x(moment: datetime) -> float:
    """matplotlib's date number of a moment (``date2num`` has no type hints)."""
    from matplotlib import dates

    return float(dates.date2num(moment))  # type: ignore[no-untyped-call]


def _title(metrics: Metrics) -> str:
    name = metrics.environment or "all environments"
    return (
        f"Rollback durations and MTTR: {name}, "
        f"{metrics.since:%Y-%m-%d %H:%M}Z to {metrics.now:%Y-%m-%d %H:%M}Z"
    )


def figure(metrics: Metrics) -> Figure:
    """The chart as a matplotlib Figure (not yet saved; tests read its texts and lines).

    x is the date (UTC) of each rollback (incident); y the minutes from the failure's
    detection (else the first command's start) to the restored state, or to its last
    attempt when nothing restored it. Circles are automated rollbacks, squares manual
    ones, hollow when the first attempt did not restore service; the red step line is the
    mean MTTR so far, after each recovery; the dashed lines are the targets.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas: no display, no pyplot global state
    ax = fig.add_subplot()
    ax.set_title(_title(metrics))
    ax.set_xlabel("date (UTC)")
    ax.set_ylabel("duration (minutes)")
    _date_axis(ax, metrics.since, metrics.now)
    ax.grid(True, color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    _points(ax, metrics)
    _mttr(ax, metrics)
    top = max(
        [_minutes(s) for _, s, _ in TARGETS]
        + [_minutes(r.elapsed_seconds) for r in metrics.rollbacks]
    )
    ax.set_ylim(0, top * 1.12)
    for label, seconds, colour in TARGETS:
        ax.axhline(_minutes(seconds), color=colour, linestyle="--", linewidth=1.4, label=label)
        ax.annotate(
            label,
            xy=(1.0, _minutes(seconds)),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            color=colour,
            fontsize=8,
        )
    if not metrics.rollbacks:
        ax.text(
            0.5,
            0.5,
            NO_DATA,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=14,
            color="#555555",
        )
    # under the plot, never over a point
    fig.legend(loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    return fig


def _date_axis(ax: Axes, since: datetime, now: datetime) -> None:
    """Dates on x, from the window's start to its end, ticks chosen for the span."""
    from matplotlib import dates

    locator = dates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlim(_x(since), _x(now))


def _points(ax: Axes, metrics: Metrics) -> None:
    """One marker per rollback at its start date and its duration."""

    kinds = (
        ("automated rollback", True, "o", AUTOMATED_COLOUR),
        ("manual rollback", False, "s", MANUAL_COLOUR),
    )
    for label, automated, marker, colour in kinds:
        chosen = [r for r in metrics.rollbacks if r.automated == automated]
        if not chosen:
            continue
        ax.scatter(
            [_x(r.started_at) for r in chosen],
            [_minutes(r.elapsed_seconds) for r in chosen],
            marker=marker,
            s=36,
            edgecolors=colour,
            facecolors=[colour if r.first_attempt_success else "none" for r in chosen],
            linewidths=1.5,
            label=f"{label} (duration)",
            zorder=3,
            clip_on=False,  # a seconds-long rollback sits on the x axis, still visible
        )
    if any(not r.first_attempt_success for r in metrics.rollbacks):
        ax.scatter(
            [],
            [],
            marker="o",
            facecolors="none",
            edgecolors="#555555",
            label="hollow marker: first attempt failed",
        )


def _mttr(ax: Axes, metrics: Metrics) -> None:
    """The mean MTTR after each recovery, held until the next one and to the window's end."""

    recoveries = sorted(
        (min(r.green_at, metrics.now), s)
        for r in metrics.rollbacks
        if (s := r.recovery_seconds) is not None and r.green_at is not None
    )
    if not recoveries:
        return
    moments: list[datetime] = []
    means: list[float] = []
    total = 0.0
    for n, (finished, seconds) in enumerate(recoveries, start=1):
        total += seconds
        moments.append(finished)
        means.append(_minutes(total / n))
    end = max(metrics.now, moments[-1] + timedelta(seconds=1))
    ax.step(
        [_x(m) for m in [*moments, end]],
        [*means, means[-1]],
        where="post",
        color=MTTR_COLOUR,
        linewidth=1.8,
        label="MTTR (running mean)",
        zorder=2,
    )
    # a marker at each recovery (a step line's own markers land on its corners too)
    ax.plot(
        [_x(m) for m in moments],
        means,
        linestyle="none",
        marker="D",
        markersize=4,
        color=MTTR_COLOUR,
        label="_mttr recoveries",  # leading underscore: not in the legend
        zorder=2,
    )


def chart_bytes(metrics: Metrics) -> bytes:
    """The chart as PNG bytes; see :func:`figure`."""
    buffer = io.BytesIO()
    figure(metrics).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def chart_png(metrics: Metrics, path: Path) -> None:
    """Write the chart (see :func:`figure`) to ``path`` as a PNG, replaced atomically."""
    write_atomic(Path(path), chart_bytes(metrics))
