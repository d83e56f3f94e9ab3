"""The scale benchmark's arithmetic and its table: medians, paired ratios, the physical
limit, and each figure judged against the issue's targets.

Pure (no processes, no sockets), so it is unit-tested and the printed table, the JSON
line and the exit code cannot disagree.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# Issue 14's targets.
SCALE_N = 500
SCALE_LATENCY_MS = 100.0
SCALE_WALL_S = 15.0
SCALE_PEAK_MIB = 150.0
MAX_PLUGIN_OVER_BOTO3 = 1.3
MIN_CLI_OVER_PLUGIN = 4.0
CALLS_TOLERANCE = 3  # "the same calls, within a few"


@dataclass
class Runs:
    """One approach's runs at one N: per-run figures, in run order (paired by index)."""

    label: str
    concurrency: int
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    check_requests: list[int] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    note: str = ""

    def add(self, wall: float, cpu: float, peak: float, requests: int, checks: int, code: int):
        """Record one run."""
        self.walls.append(wall)
        self.cpus.append(cpu)
        self.peaks.append(peak)
        self.requests.append(requests)
        self.check_requests.append(checks)
        self.exit_codes.append(code)

    def summary(self, latency_s: float) -> dict[str, Any]:
        """Medians (wall also min and max), the largest peak, and the physical limit."""
        requests = median(self.requests)
        return {
            "label": self.label,
            "wall_median_s": round(median(self.walls), 3),
            "wall_min_s": round(min(self.walls), 3),
            "wall_max_s": round(max(self.walls), 3),
            "cpu_median_s": round(median(self.cpus), 3),
            "peak_mib": round(max(self.peaks), 1),
            "requests": requests,
            "check_requests": median(self.check_requests),
            "concurrency": self.concurrency,
            "physical_limit_s": round(physical_limit(latency_s, requests, self.concurrency), 3),
            "exit_codes": self.exit_codes,
            "note": self.note,
        }


@dataclass(frozen=True)
class Verdict:
    """A figure against its target."""

    name: str
    value: str
    target: str
    ok: bool


def median(values: Sequence[float]) -> Any:
    """The median; an int stays an int when the middle is one value."""
    middle = statistics.median(values)
    return int(middle) if float(middle).is_integer() and isinstance(values[0], int) else middle


def physical_limit(latency_s: float, requests: float, concurrency: int) -> float:
    """The least wall time ``requests`` can take at ``latency_s`` each, ``concurrency`` at
    a time: what the network alone costs."""
    return latency_s * requests / max(concurrency, 1)


def paired_ratio(top: Sequence[float], bottom: Sequence[float]) -> float | None:
    """Median of the per-run ratios (runs are interleaved, so load hits both alike)."""
    pairs = [t / b for t, b in zip(top, bottom, strict=False) if b > 0]
    return round(statistics.median(pairs), 2) if pairs else None


def judge(n: int, latency_ms: float, plugin: Runs, seq: Runs, cli: Runs | None) -> list[Verdict]:
    """The issue's targets for the plugin without ``-n`` at one N."""
    verdicts = [
        Verdict(
            f"N={n}: every run exited 0",
            str(sorted(set(plugin.exit_codes + seq.exit_codes))),
            "[0]",
            set(plugin.exit_codes + seq.exit_codes) == {0},
        )
    ]
    plugin_calls, seq_calls = median(plugin.check_requests), median(seq.check_requests)
    verdicts.append(
        Verdict(
            f"N={n}: boto3 script makes the plugin's check calls",
            f"{seq_calls} vs {plugin_calls}",
            f"within {CALLS_TOLERANCE}",
            abs(plugin_calls - seq_calls) <= CALLS_TOLERANCE,
        )
    )
    ratio = paired_ratio(plugin.walls, seq.walls)
    verdicts.append(
        Verdict(
            f"N={n}: plugin / boto3 sequential",
            shown(ratio, "x"),
            f"<= {MAX_PLUGIN_OVER_BOTO3}x",
            ratio is not None and ratio <= MAX_PLUGIN_OVER_BOTO3,
        )
    )
    if cli is not None:
        faster = paired_ratio(cli.walls, plugin.walls)
        verdicts.append(
            Verdict(
                f"N={n}: aws CLI / plugin",
                shown(faster, "x"),
                f">= {MIN_CLI_OVER_PLUGIN}x",
                faster is not None and faster >= MIN_CLI_OVER_PLUGIN,
            )
        )
    if n == SCALE_N and latency_ms == SCALE_LATENCY_MS:
        wall, peak = median(plugin.walls), max(plugin.peaks)
        verdicts += [
            Verdict(
                f"N={n}: plugin wall, no -n",
                f"{wall:.1f} s",
                f"<= {SCALE_WALL_S:.0f} s",
                wall <= SCALE_WALL_S,
            ),
            Verdict(
                f"N={n}: plugin peak memory",
                f"{peak:.0f} MiB",
                f"<= {SCALE_PEAK_MIB:.0f} MiB",
                peak <= SCALE_PEAK_MIB,
            ),
        ]
    return verdicts


def shown(value: float | None, unit: str, digits: int = 2) -> str:
    """A figure for the table, "-" when it could not be measured."""
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def scale_targets(n: int, latency_ms: float) -> tuple[str, str]:
    """The wall and memory targets printed beside the plugin's figures."""
    if n == SCALE_N and latency_ms == SCALE_LATENCY_MS:
        return f"<= {SCALE_WALL_S:.0f} s", f"<= {SCALE_PEAK_MIB:.0f} MiB"
    return "(N=500: <= 15 s)", "(N=500: <= 150 MiB)"


def render_n(n: int, latency_ms: float, summaries: Sequence[dict[str, Any]]) -> str:
    """One N's table: a row per approach."""
    wall_target, peak_target = scale_targets(n, latency_ms)
    header = (
        "approach",
        "wall median (min-max)",
        "CPU",
        "peak",
        "requests (checks)",
        "physical limit",
        "note",
    )
    rows = [header]
    for s in summaries:
        plugin_no_n = s["label"] == "plugin"
        rows.append(
            (
                s["label"],
                f"{s['wall_median_s']:.2f} s ({s['wall_min_s']:.2f}-{s['wall_max_s']:.2f})"
                + (f" target {wall_target}" if plugin_no_n else ""),
                f"{s['cpu_median_s']:.2f} s",
                f"{s['peak_mib']:.0f} MiB" + (f" target {peak_target}" if plugin_no_n else ""),
                f"{s['requests']} ({s['check_requests']})",
                f"{s['physical_limit_s']:.2f} s at {s['concurrency']}",
                s["note"],
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return f"N={n}, {latency_ms:g} ms added per request\n" + "\n".join(
        "  " + line.rstrip() for line in lines
    )


def render_ratios(n: int, ratios: dict[str, float | None]) -> str:
    """The paired ratios of one N, in one line."""
    parts = [f"{name} {shown(value, 'x')}" for name, value in ratios.items()]
    return f"  ratios at N={n} (medians of paired runs): " + ", ".join(parts)


def render_verdicts(verdicts: Sequence[Verdict]) -> str:
    """Each target and whether it was met."""
    width = max(len(v.name) for v in verdicts)
    return "\n".join(
        f"  {v.name.ljust(width)}  {v.value:<14} target {v.target:<12} {'ok' if v.ok else 'MISSED'}"
        for v in verdicts
    )
