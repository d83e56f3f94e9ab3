"""Benchmark the smoke suite and the cost pytest-ohpen adds to every pytest run.

Run from anywhere: ``python bench/bench_smoke.py [--runs N] [--worst-case]``.
Every figure comes from a subprocess of this interpreter (``sys.executable -m pytest``)
run in the repo root, so it is what a user typing the command would see. The figures
are printed as a table, then as one JSON line (the last line of output) for tooling.
Exit code 0 when every figure meets its target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bytecode import bytecode_cache, overlaid, warm_cache_env

REPO = Path(__file__).resolve().parent.parent
SMOKE = ["suites/smoke", "--env", "local", "-p", "no:cacheprovider", "-q"]
# The playbook's six resources: leaving all of them out makes every check fail.
PLAYBOOK = [
    "ohpen-bronze",
    "ohpen-silver",
    "ohpen-artifacts",
    "ohpen-transaction-etl-spark",
    "ohpen-etl-orchestration",
    "ohpen-read-run-summary",
]
PRODUCTION_RETRY_DELAY = 30  # environments.toml [defaults] retry_delay

IMPORT_TARGET_MS = 50.0
SMOKE_TARGET_S = 3.0  # issue 14: median wall of `pytest suites/smoke --env local`
WORST_CASE_TARGET_S = 120.0
HELP_RUNS = 15
HELP_WARMUPS = 2
IMPORTTIME_RUNS = 5
RUN_TIMEOUT_S = 600

PROVISIONED = re.compile(r"ohpen: embedded account provisioned in ([0-9.]+) s")
RERUNS = re.compile(r"(\d+) rerun")


@dataclass(frozen=True)
class Completed:
    """One subprocess: exit code, wall time, CPU time (user + sys) and merged output."""

    returncode: int
    seconds: float
    cpu_seconds: float
    output: str


@dataclass
class Check:
    """A figure compared with its target, so the exit code and the report agree."""

    name: str
    value: str
    target: str
    ok: bool


@dataclass
class Report:
    """Everything measured; becomes the JSON line."""

    runs: int
    smoke: dict[str, Any] = field(default_factory=dict)
    import_cost: dict[str, Any] = field(default_factory=dict)
    worst_case: dict[str, Any] | None = None
    checks: list[Check] = field(default_factory=list)


def run(
    args: Sequence[str],
    python_args: Sequence[str] = (),
    env_overrides: dict[str, str | None] | None = None,
) -> Completed:
    """Run ``python [python_args] args`` in the repo root and time it end to end.

    PYTEST_ADDOPTS is dropped so a developer's shell (e.g. ``-n 2``) cannot skew figures.
    CPU time is the reaped children's rusage delta (runs are sequential, so it is this
    child's); on a shared or virtual machine it is steadier than wall time.
    """
    env = overlaid(
        {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}, env_overrides or {}
    )
    cpu_before = children_cpu()
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *python_args, *args],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - began
    return Completed(done.returncode, seconds, children_cpu() - cpu_before, done.stdout)


def children_cpu() -> float:
    """User + system CPU seconds of all reaped child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_run(
    args: Sequence[str], env_overrides: dict[str, str | None] | None = None
) -> Completed:
    """``python -m pytest args``: the command a user types, with this interpreter."""
    return run(["-m", "pytest", *args], env_overrides=env_overrides)


def junit_seconds(path: Path) -> float:
    """Sum of the testcase times in a junit file (pytest's include setup and teardown)."""
    return sum(float(case.get("time", 0)) for case in ET.parse(path).iter("testcase"))


def provisioned_seconds(output: str) -> float | None:
    """The embedded account's provisioning time, as the plugin reports it."""
    found = PROVISIONED.search(output)
    return float(found.group(1)) if found else None


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for display and JSON."""
    return round(seconds * 1000, 1)


def median_or_none(values: Sequence[float], digits: int) -> float | None:
    """Median of the values found; None (JSON null, shown as "-") when none were."""
    return round(statistics.median(values), digits) if values else None


def shown(value: float | None, unit: str, digits: int) -> str:
    """A figure for the table, "-" when it could not be measured."""
    return "-" if value is None else f"{value:.{digits}f} {unit}"


def measure_smoke(runs: int) -> dict[str, Any]:
    """Wall time of the green smoke run, split into checks and provisioning, as this shell
    runs it and with bytecode cached (a user's machine after the first run: modules are
    compiled and, the plugin being a pytest11 entry point, assertion-rewritten once).

    The two settings alternate run by run, after one warm-up that fills the scratch
    bytecode cache, so machine load hits both alike. The rest of the wall time is
    interpreter start, imports and collection.
    """
    shell: dict[str, list[float]] = {"walls": [], "cpu": [], "checks": [], "provisions": []}
    cached: dict[str, list[float]] = {"walls": [], "cpu": []}
    codes: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = warm_cache_env(str(Path(tmp) / "pycache"))
        pytest_run(SMOKE, env_overrides=warm)  # fills the scratch bytecode cache
        for i in range(runs):
            xml = Path(tmp) / f"smoke-{i}.xml"
            done = pytest_run([*SMOKE, f"--junitxml={xml}"])
            codes.append(done.returncode)
            shell["walls"].append(done.seconds)
            shell["cpu"].append(done.cpu_seconds)
            if xml.exists():
                shell["checks"].append(junit_seconds(xml))
            provision = provisioned_seconds(done.output)
            if provision is not None:
                shell["provisions"].append(provision)
            if done.returncode != 0:
                print(done.output, file=sys.stderr)
            warm_run = pytest_run(SMOKE, env_overrides=warm)
            codes.append(warm_run.returncode)
            cached["walls"].append(warm_run.seconds)
            cached["cpu"].append(warm_run.cpu_seconds)
    return {
        "exit_codes": codes,
        "bytecode_cache": bytecode_cache(),
        "wall_median_s": round(statistics.median(shell["walls"]), 3),
        "wall_max_s": round(max(shell["walls"]), 3),
        "cpu_median_s": round(statistics.median(shell["cpu"]), 3),
        "checks_median_s": median_or_none(shell["checks"], 3),
        "provision_median_s": median_or_none(shell["provisions"], 2),
        "cached_wall_median_s": round(statistics.median(cached["walls"]), 3),
        "cached_wall_max_s": round(max(cached["walls"]), 3),
        "cached_cpu_median_s": round(statistics.median(cached["cpu"]), 3),
    }


def help_medians(env_overrides: dict[str, str | None] | None = None) -> dict[str, float]:
    """Median wall and CPU time of ``pytest --help`` with and without the plugin, in ms.

    Interleaved, alternating which goes first, after warm-ups, so disk cache and
    machine load hit both sides alike. ``-p no:ohpen`` stops pytest from even
    importing the entry point, so the difference is the plugin's whole cost.
    """
    samples: dict[str, list[Completed]] = {"with": [], "without": []}
    for i in range(HELP_WARMUPS + HELP_RUNS):
        pair = [("with", ["--help"]), ("without", ["--help", "-p", "no:ohpen"])]
        for label, args in pair if i % 2 == 0 else reversed(pair):
            done = pytest_run(args, env_overrides)
            if done.returncode != 0:
                command = " ".join(args)
                raise SystemExit(f"pytest {command} exited {done.returncode}:\n{done.output}")
            if i >= HELP_WARMUPS:
                samples[label].append(done)
    return {
        f"{label}_{kind}_ms": ms(
            statistics.median(
                done.seconds if kind == "wall" else done.cpu_seconds for done in dones
            )
        )
        for label, dones in samples.items()
        for kind in ("wall", "cpu")
    }


def plugin_importtime() -> tuple[float | None, list[tuple[str, int]]]:
    """``-X importtime`` of pytest_ohpen.plugin.hooks after pytest is already imported.

    Importing pytest first leaves only what the plugin adds (pytest itself is paid
    by every run). Returns the median cumulative ms and the plugin's three heaviest
    own imports by self time (us), to point at the culprit when over target.
    """
    totals: list[float] = []
    heaviest: list[tuple[str, int]] = []
    for _ in range(IMPORTTIME_RUNS):
        done = run(["-c", "import pytest; import pytest_ohpen.plugin.hooks"], ["-X", "importtime"])
        rows = [
            (int(self_us), int(cum_us), name.strip())
            for line in done.output.splitlines()
            if line.startswith("import time:") and "|" in line
            for self_us, cum_us, name in [line[len("import time:") :].split("|")]
            if self_us.strip().isdigit()
        ]
        names = [name for _, _, name in rows]
        if "pytest_ohpen.plugin.hooks" not in names:
            return None, []
        start = names.index("pytest") + 1 if "pytest" in names else 0
        end = names.index("pytest_ohpen.plugin.hooks")
        totals.append(rows[end][1] / 1000)
        heaviest = [(n, s) for s, _, n in sorted(rows[start : end + 1], reverse=True)[:3]]
    return median_or_none(totals, 1), heaviest


def heavy_modules_after_help() -> dict[str, bool]:
    """Whether ``pytest --help`` imported boto3, botocore or moto (it should not)."""
    code = (
        "import contextlib, io, json, sys, pytest\n"
        "with contextlib.redirect_stdout(io.StringIO()): pytest.main(['--help'])\n"
        "print(json.dumps({m: m in sys.modules for m in ('boto3', 'botocore', 'moto')}))"
    )
    done = run(["-c", code])
    with contextlib.suppress(ValueError, IndexError):
        return dict(json.loads(done.output.strip().splitlines()[-1]))
    raise SystemExit(f"could not read sys.modules after pytest --help:\n{done.output}")


def measure_import_cost() -> dict[str, Any]:
    """The plugin's cost to every pytest run, in three views."""
    with tempfile.TemporaryDirectory(prefix="ohpen-bench-pycache-") as cache_dir:
        medians = help_medians(warm_cache_env(cache_dir))
    cold = help_medians()
    cumulative, heaviest = plugin_importtime()
    return {
        "help_with_plugin_ms": medians["with_wall_ms"],
        "help_without_plugin_ms": medians["without_wall_ms"],
        "difference_ms": round(medians["with_wall_ms"] - medians["without_wall_ms"], 1),
        "cpu_difference_ms": round(medians["with_cpu_ms"] - medians["without_cpu_ms"], 1),
        "cold_difference_ms": round(cold["with_wall_ms"] - cold["without_wall_ms"], 1),
        "bytecode_cache": bytecode_cache(),
        "plugin_importtime_ms": cumulative,
        "plugin_heaviest_self_us": heaviest,
        "imported_by_help": heavy_modules_after_help(),
    }


def measure_worst_case() -> dict[str, Any]:
    """All six playbook resources missing, with production's 30 s settle window.

    The settle window is shared by the run, so this should cost one wait, not six.
    """
    omit = [arg for name in PLAYBOOK for arg in ("--emulator-omit", name)]
    done = pytest_run([*SMOKE, *omit, "--reruns-delay", str(PRODUCTION_RETRY_DELAY)])
    reruns = RERUNS.findall(done.output)
    return {
        "exit_code": done.returncode,
        "wall_s": round(done.seconds, 2),
        "reruns": int(reruns[-1]) if reruns else 0,
        "summary": done.output.strip().splitlines()[-1] if done.output.strip() else "",
    }


def judge(report: Report) -> list[Check]:
    """Compare each figure with its target."""
    smoke, cost = report.smoke, report.import_cost
    checks = [
        Check(
            "smoke run exit codes",
            str(smoke["exit_codes"]),
            "all 0",
            all(code == 0 for code in smoke["exit_codes"]),
        ),
        Check(
            "smoke wall median, this shell",
            f"{smoke['wall_median_s']:.2f} s",
            f"<= {SMOKE_TARGET_S:.0f} s",
            smoke["wall_median_s"] <= SMOKE_TARGET_S,
        ),
        Check(
            "smoke wall median, cached",
            f"{smoke['cached_wall_median_s']:.2f} s",
            f"<= {SMOKE_TARGET_S:.0f} s",
            smoke["cached_wall_median_s"] <= SMOKE_TARGET_S,
        ),
        Check(
            "plugin cost on pytest --help",
            f"{cost['difference_ms']:.1f} ms",
            f"<= {IMPORT_TARGET_MS:.0f} ms",
            cost["difference_ms"] <= IMPORT_TARGET_MS,
        ),
    ]
    if report.worst_case is not None:
        worst = report.worst_case
        checks += [
            Check("worst case exit code", str(worst["exit_code"]), "1", worst["exit_code"] == 1),
            Check(
                "worst case wall time",
                f"{worst['wall_s']:.1f} s",
                f"< {WORST_CASE_TARGET_S:.0f} s",
                worst["wall_s"] < WORST_CASE_TARGET_S,
            ),
        ]
    return checks


def table(rows: Sequence[tuple[str, str]]) -> str:
    """Two aligned columns."""
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows)


def render(report: Report) -> str:
    """The human-readable report: figures, then each target and whether it was met."""
    smoke, cost = report.smoke, report.import_cost
    mods = ", ".join(f"{m}={'yes' if v else 'no'}" for m, v in cost["imported_by_help"].items())
    heavy = ", ".join(f"{n} {us / 1000:.1f} ms" for n, us in cost["plugin_heaviest_self_us"])
    rows = [
        (
            f"smoke wall time, median of {report.runs} (bytecode {smoke['bytecode_cache']})",
            f"{smoke['wall_median_s']:.2f} s",
        ),
        (f"smoke wall time, max of {report.runs}", f"{smoke['wall_max_s']:.2f} s"),
        ("  CPU time (user+sys), median", f"{smoke['cpu_median_s']:.2f} s"),
        ("  checks (junit sum, incl. setup/teardown)", shown(smoke["checks_median_s"], "s", 3)),
        ("  embedded account provisioning", shown(smoke["provision_median_s"], "s", 1)),
        (
            f"smoke wall time, bytecode cached, median of {report.runs}",
            f"{smoke['cached_wall_median_s']:.2f} s",
        ),
        ("  max", f"{smoke['cached_wall_max_s']:.2f} s"),
        ("  CPU time (user+sys), median", f"{smoke['cached_cpu_median_s']:.2f} s"),
        (
            f"pytest --help, bytecode cached, median of {HELP_RUNS}",
            f"{cost['help_with_plugin_ms']:.0f} ms",
        ),
        ("pytest --help -p no:ohpen, median", f"{cost['help_without_plugin_ms']:.0f} ms"),
        ("  difference (plugin cost), bytecode cached", f"{cost['difference_ms']:.1f} ms"),
        ("  difference in CPU time (user+sys)", f"{cost['cpu_difference_ms']:.1f} ms"),
        ("  difference with no bytecode cache", f"{cost['cold_difference_ms']:.1f} ms"),
        ("  this shell's bytecode cache", cost["bytecode_cache"]),
        ("importtime of plugin beyond pytest", shown(cost["plugin_importtime_ms"], "ms", 1)),
        ("  heaviest own imports (self time)", heavy or "-"),
        ("imported by pytest --help", mods),
    ]
    if report.worst_case is not None:
        worst = report.worst_case
        rows += [
            ("worst case: 6 checks failing, 30 s delay", f"{worst['wall_s']:.1f} s"),
            ("  exit code", str(worst["exit_code"])),
            ("  reruns", str(worst["reruns"])),
            ("  summary", worst["summary"]),
        ]
    verdicts = [
        (c.name, f"{c.value:<12} target {c.target:<10} {'ok' if c.ok else 'MISSED'}")
        for c in report.checks
    ]
    return f"Figures\n{table(rows)}\n\nTargets\n{table(verdicts)}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line: how many smoke runs, and whether to pay for the worst case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="smoke runs to time (default 5)")
    parser.add_argument(
        "--worst-case",
        action="store_true",
        help="also time six failing checks with production's 30 s settle window",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table and the JSON line, and exit 1 if any target was missed."""
    args = parse_args(argv)
    report = Report(runs=args.runs)
    report.smoke = measure_smoke(args.runs)
    report.import_cost = measure_import_cost()
    if args.worst_case:
        report.worst_case = measure_worst_case()
    report.checks = judge(report)
    print(render(report))
    missed = [c.name for c in report.checks if not c.ok]
    if missed:
        print(f"\nMissed: {', '.join(missed)}")
    print(json.dumps({**asdict(report), "ok": not missed}))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
