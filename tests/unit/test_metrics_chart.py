"""The ``ohpen metrics --chart`` figure: its texts, points, target lines and the PNG written.

The figure is built through ``chart.figure`` and read before it is saved, so each assertion
is about what a person sees: the title, the axis labels, the legend, the dashed lines at
the playbook's targets and a "no data" note on an empty window.
"""

from __future__ import annotations

import struct
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from matplotlib import dates
from matplotlib.collections import PathCollection
from matplotlib.dates import ConciseDateFormatter
from matplotlib.figure import Figure

from pytest_ohpen.metrics import chart, figures
from pytest_ohpen.metrics.figures import Metrics
from pytest_ohpen.records.store import AuditStore

NOW = datetime(2024, 9, 30, 12, 0, tzinfo=UTC)
SINCE = datetime(2024, 5, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def metrics(directory: Path, *incidents: tuple[datetime, float, bool, bool]) -> Metrics:
    """The metrics of "prod" after incidents (start, minutes, automated, smoke passed)."""
    at = SINCE
    store = AuditStore(directory, clock=lambda: at)
    for started, minutes, automated, passed in incidents:
        at = started + timedelta(minutes=minutes)
        store.write(
            "incident",
            "prod",
            {
                "reason": "smoke tests failed after deploy",
                "started_at": iso(started),
                "finished_at": iso(at),
                "mode": "apply",
                "outcome": "applied",
                "verification": "smoke tests passed"
                if passed
                else "smoke tests failed (exit code 1)",
                "initiated_by": "trigger" if automated else "operator",
                "detected_at": None,
            },
        )
    return figures.compute(store.records(environment="prod"), SINCE, NOW, environment="prod")


@pytest.fixture
def busy(tmp_path: Path) -> Metrics:
    """Automated 4 and 6 min (both recovered), manual 40 min whose smoke tests failed."""
    return metrics(
        tmp_path / "audit",
        (datetime(2024, 7, 1, 10, tzinfo=UTC), 4, True, True),
        (datetime(2024, 7, 2, 10, tzinfo=UTC), 6, True, True),
        (datetime(2024, 7, 3, 10, tzinfo=UTC), 40, False, False),
    )


def legend(fig: Figure) -> list[str]:
    return [text.get_text() for text in fig.legends[0].get_texts()]


TARGET_LABELS = ["automated target (10 min)", "manual target (30 min)", "MTTR target (1 h)"]


def test_the_title_names_the_environment_and_the_window_and_the_axes_their_units(
    busy: Metrics,
) -> None:
    ax = chart.figure(busy).axes[0]
    title = ax.get_title()
    assert "prod" in title
    assert "2024-05-01 00:00Z to 2024-09-30 12:00Z" in title
    assert ax.get_xlabel() == "date (UTC)"
    assert ax.get_ylabel() == "duration (minutes)"


def test_the_x_axis_is_the_window_with_date_ticks(busy: Metrics) -> None:
    fig = chart.figure(busy)
    ax = fig.axes[0]
    assert ax.get_xlim() == (dates.date2num(SINCE), dates.date2num(NOW))
    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    fig.canvas.draw()
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert {"Jun", "Jul", "Aug", "Sep"} <= set(labels)


def test_the_targets_are_labelled_dashed_lines_at_10_30_and_60_minutes(busy: Metrics) -> None:
    fig = chart.figure(busy)
    ax = fig.axes[0]
    dashed = {
        str(line.get_label()): set(line.get_ydata())  # type: ignore[arg-type]
        for line in ax.lines
        if line.get_linestyle() == "--"
    }
    assert dashed == {
        "automated target (10 min)": {10.0},
        "manual target (30 min)": {30.0},
        "MTTR target (1 h)": {60.0},
    }
    # labelled on the plot itself, and in the legend
    assert set(TARGET_LABELS) <= {text.get_text() for text in ax.texts}
    assert set(TARGET_LABELS) <= set(legend(fig))
    assert ax.get_ylim()[1] > 60  # the 1 h line is inside the plot


def test_rollbacks_are_points_in_minutes_and_mttr_is_the_running_mean(busy: Metrics) -> None:
    fig = chart.figure(busy)
    ax = fig.axes[0]
    points: dict[str, Any] = {
        str(c.get_label()): c for c in ax.collections if isinstance(c, PathCollection)
    }
    automated = points["automated rollback (duration)"]
    manual = points["manual rollback (duration)"]
    assert [y for _, y in automated.get_offsets()] == [4.0, 6.0]
    assert [x for x, _ in automated.get_offsets()] == [
        dates.date2num(datetime(2024, 7, d, 10, tzinfo=UTC)) for d in (1, 2)
    ]
    assert [y for _, y in manual.get_offsets()] == [40.0]
    # the manual one did not restore service: hollow, and the legend says what hollow means
    assert manual.get_facecolors()[0][3] == 0
    assert all(face[3] == 1 for face in automated.get_facecolors())
    assert "hollow marker: first attempt failed" in legend(fig)
    (mttr,) = [line for line in ax.lines if line.get_label() == "MTTR (running mean)"]
    # recoveries of 4 and 6 min: mean 4, then 5, held to the window's end
    assert list(mttr.get_ydata()) == [4.0, 5.0, 5.0]  # type: ignore[arg-type]
    assert list(mttr.get_xdata())[-1] == dates.date2num(NOW)  # type: ignore[arg-type]
    assert {
        "automated rollback (duration)",
        "manual rollback (duration)",
        "MTTR (running mean)",
    } <= set(legend(fig))


def test_a_window_without_rollbacks_says_no_data_in_the_plot(tmp_path: Path) -> None:
    fig = chart.figure(metrics(tmp_path / "audit"))
    ax = fig.axes[0]
    assert chart.NO_DATA in [text.get_text() for text in ax.texts]
    assert not [c for c in ax.collections if isinstance(c, PathCollection) and c.get_offsets().size]
    assert legend(fig) == TARGET_LABELS  # the targets are still drawn


def test_the_png_is_written_atomically_at_its_size(busy: Metrics, tmp_path: Path) -> None:
    path = tmp_path / "charts" / "rollbacks.png"
    path.parent.mkdir()
    path.write_bytes(b"old")
    chart.chart_png(busy, path)
    body = path.read_bytes()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert body[12:16] == b"IHDR"
    assert struct.unpack(">II", body[16:24]) == (1000, 550)
    assert 10_000 < len(body) < 500_000
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind


def test_without_matplotlib_the_chart_says_which_extra_to_install(
    busy: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises
    with pytest.raises(chart.ChartUnavailable) as raised:
        chart.figure(busy)
    assert str(raised.value) == (
        "ohpen metrics --chart needs matplotlib: pip install 'pytest-ohpen[charts]'"
    )
