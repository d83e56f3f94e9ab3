"""Benchmark the smoke checks at scale: the plugin beside plain boto3 and the aws CLI.

Run from anywhere: ``python bench/bench_scale.py [--n 50,200,500] [--latency-ms 100]
[--runs 3] [--xdist 0,4]``. For each N it starts its own moto server (a separate process)
and a latency proxy on loopback, provisions N healthy resources over the four kinds, and
runs, interleaved, ``--runs`` times each: the plugin (``pytest suites/smoke`` limited to
the playbook's checks), a plain boto3 script making the same calls (sequential, and on
16 threads) and the playbook's aws-CLI script (one process per call; sampled for large
N). Every command is a subprocess of this interpreter, measured alone (wall, CPU, peak
memory of its process tree, requests the proxy saw). Figures print as a table, then one
JSON line (the last line). Exit code 0 when every target of issue 14 is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import scale_report as report
from bench.aws_operations import CHECK_OPERATIONS
from bench.bytecode import bytecode_cache, overlaid, warm_cache_env
from bench.latency_proxy import LatencyProxy
from bench.process_usage import Measured, measure
from bench.scale_account import (
    ACCOUNT_ID,
    CREDENTIALS,
    REGION,
    Resources,
    moto_server,
    provision,
    resources,
)

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# The playbook's checks: bucket accessible, Glue job exists, state machine active, Lambda
# active (test_lambda_invocable is opt-in and would be skipped anyway).
CHECK_TESTS = (
    "test_bucket_accessible",
    "test_glue_job_exists",
    "test_state_machine_active",
    "test_lambda_active",
)
CLI_KINDS = {
    "buckets": "bucket",
    "glue_jobs": "job",
    "state_machines": "state-machine",
    "lambdas": "lambda",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="50", help="resource counts, comma-separated (50)")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="added per request")
    parser.add_argument("--runs", type=int, default=3, help="runs of each approach (3)")
    parser.add_argument("--xdist", default="0", help="plugin worker counts, 0 = no -n (0)")
    parser.add_argument("--threads", type=int, default=16, help="threaded boto3 script (16)")
    parser.add_argument(
        "--cli-sample", type=int, default=4, help="aws CLI calls per run at most (4)"
    )
    parser.add_argument("--aws", default=shutil.which("aws"), help="the aws CLI (PATH's)")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose plugin runs")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="the environment's concurrency key (default: not written; the checkout's default)",
    )
    args = parser.parse_args(argv)
    try:
        args.n = [int(v) for v in args.n.split(",")]
        args.xdist = [int(v) for v in args.xdist.split(",")]
    except ValueError:
        parser.error("--n and --xdist take comma-separated integers")
    if min(args.n) < 4 or args.runs < 1 or args.cli_sample < 4 or min(args.xdist) < 0:
        parser.error("--n at least 4 (one per kind), --runs 1+, --cli-sample 4+, --xdist 0+")
    return args


def base_env(repo: Path) -> dict[str, str]:
    """This shell's environment without anything that would point a client elsewhere or
    change pytest's options, plus the benchmark's fake keys and region."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTEST_ADDOPTS" and not k.startswith(("AWS_", "OHPEN_", "SMOKE_"))
    }
    missing = str(Path(tempfile.gettempdir()) / "ohpen-bench-no-aws-config")
    env |= CREDENTIALS | {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": missing,
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")])),
    }
    return env


def plugin_concurrency(repo: Path, env: Mapping[str, str]) -> int:
    """The calls the checkout's plugin makes at once in one process: its Environment's
    ``concurrency`` default, or 1 for a plugin without the key (checks one at a time)."""
    code = (
        "import dataclasses\n"
        "from pytest_ohpen.config.environments import Environment\n"
        "f = {f.name: f for f in dataclasses.fields(Environment)}.get('concurrency')\n"
        "print(f.default if f else 1)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, env=dict(env), capture_output=True, text=True
    )
    try:
        return int(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit(f"cannot import the plugin from {repo}:\n{done.stderr}") from None


def environments_toml(endpoint: str, wanted: Resources, concurrency: int | None = None) -> str:
    """The plugin's environments file: one environment ``bench`` naming every resource."""
    lines = [
        "[bench]",
        f'account_id = "{ACCOUNT_ID}"',
        f'region = "{REGION}"',
        f'endpoint_url = "{endpoint}"',
        "retries = 0",
        "deadline = 3600",
        *([f"concurrency = {concurrency}"] if concurrency else []),
        "",
        "[bench.resources]",
    ]
    lines += [f"{kind} = {json.dumps(list(names))}" for kind, names in wanted.by_kind().items()]
    return "\n".join(lines) + "\n"


def cli_sample(wanted: Resources, most: int) -> list[str]:
    """The CLI script's input lines: every resource, or ``most`` of them spread evenly
    over the kinds (a CLI process per call costs about a second each)."""
    per_kind = math.ceil(most / len(CLI_KINDS))
    return [
        f"{CLI_KINDS[kind]} {name}"
        for kind, names in wanted.by_kind().items()
        for name in (names if wanted.count() <= most else names[:per_kind])
    ]


class Bench:
    """One N: the server, the proxy, the files, and the four approaches' runs."""

    def __init__(self, args: argparse.Namespace, n: int, tmp: Path, proxy: LatencyProxy):
        self.args, self.n, self.tmp, self.proxy = args, n, tmp, proxy
        self.endpoint = f"http://127.0.0.1:{proxy.port}"
        self.wanted = resources(n)
        # The plugin keeps botocore's parsed data files in its cache folder: a fresh one per
        # N, so the first plugin run is a cold start (as on a new CD runner), the rest warm.
        # Every approach with its bytecode cached (bench/bytecode.py), filled by a first run
        # of each that is not measured.
        self.env = overlaid(
            base_env(args.repo) | {"OHPEN_CACHE_DIR": str(tmp / "ohpen-cache")},
            warm_cache_env(str(tmp / "pycache")),
        )
        self.operations: collections.Counter[str] = collections.Counter()
        self.cli_scale = 1.0

    def write_files(self) -> None:
        """The environments file, the boto3 script's spec and the CLI script's list."""
        (self.tmp / "environments.toml").write_text(
            environments_toml(self.endpoint, self.wanted, self.args.concurrency)
        )
        spec = {
            "endpoint_url": self.endpoint,
            "region": REGION,
            "account_id": ACCOUNT_ID,
            "resources": {kind: list(names) for kind, names in self.wanted.by_kind().items()},
        }
        (self.tmp / "resources.json").write_text(json.dumps(spec))
        sample = cli_sample(self.wanted, self.args.cli_sample)
        (self.tmp / "cli.txt").write_text("\n".join(sample) + "\n")
        self.cli_scale = self.wanted.count() / len(sample)

    def plugin_argv(self, workers: int) -> list[str]:
        """``python -m pytest suites/smoke`` on the playbook's checks, nothing written to
        the repo (no cache, the readiness report in the scratch directory)."""
        argv = [sys.executable, "-m", "pytest", str(self.args.repo / "suites" / "smoke")]
        argv += ["--env", "bench", "--targets", str(self.tmp / "environments.toml")]
        argv += ["-p", "no:cacheprovider", "-q", "--rollback", "off"]
        argv += ["--readiness-report", str(self.tmp / "readiness.json")]
        argv += ["-k", " or ".join(CHECK_TESTS)]
        return argv + (["-n", str(workers)] if workers else [])

    def run(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> tuple[Measured, int, int, collections.Counter[str]]:
        """Measure one command, with the requests the proxy saw for it: all, the check
        operations, and the count per operation."""
        self.proxy.take()
        done = measure(argv, env or self.env, self.args.repo)
        seen = collections.Counter(s.operation for s in self.proxy.take())
        if done.returncode != 0:
            print(
                f"exit {done.returncode}: {' '.join(argv)}\n{done.output[-3000:]}", file=sys.stderr
            )
        return done, sum(seen.values()), sum(seen[op] for op in CHECK_OPERATIONS), seen

    def measure_all(self) -> list[report.Runs]:
        """Every approach, ``--runs`` times, interleaved run by run."""
        # Without -n, the plugin makes `concurrency` calls at once; with -n W, its workers
        # take one check at a time each (the controller's readiness calls aside).
        plugins = [
            report.Runs("plugin" if w == 0 else f"plugin -n {w}", w or self.args.plugin_concurrency)
            for w in self.args.xdist
        ]
        seq = report.Runs("boto3 sequential", 1)
        threaded = report.Runs(f"boto3 {self.args.threads} threads", self.args.threads)
        cli = report.Runs("aws CLI script", 1) if self.args.aws else None
        script = [sys.executable, str(HERE / "plain_checks.py"), str(self.tmp / "resources.json")]
        cli_env = self.env | {"AWS_CLI": self.args.aws or "", "BENCH_ACCOUNT_ID": ACCOUNT_ID}
        cli_argv = ["bash", str(HERE / "cli_checks.sh"), self.endpoint, str(self.tmp / "cli.txt")]
        # Not measured: each command once, to fill the bytecode cache (the threaded script
        # imports what the sequential one does and more); the plugin with a model cache of
        # its own, so the first measured run still starts with a cold one.
        warm_up = [
            (self.plugin_argv(w), {"OHPEN_CACHE_DIR": str(self.tmp / "warm-up")})
            for w in self.args.xdist
        ]
        warm_up.append(([*script, "--threads", str(self.args.threads)], {}))
        for argv, extra in warm_up + ([(cli_argv, cli_env)] if cli is not None else []):
            self.run(argv, self.env | extra)
        for i in range(self.args.runs):
            for runs, workers in zip(plugins, self.args.xdist, strict=True):
                done, total, checks, seen = self.run(self.plugin_argv(workers))
                runs.add(done.wall_s, done.cpu_s, done.peak_mib, total, checks, done.returncode)
                if i == 0 and workers == 0:
                    self.operations = seen
            for runs, threads in ((seq, 1), (threaded, self.args.threads)):
                done, total, checks, _ = self.run([*script, "--threads", str(threads)])
                runs.add(done.wall_s, done.cpu_s, done.peak_mib, total, checks, done.returncode)
            if cli is not None:
                done, total, checks, _ = self.run(cli_argv, cli_env)
                k = self.cli_scale
                cli.add(
                    done.wall_s * k,
                    done.cpu_s * k,
                    done.peak_mib,
                    round(total * k),
                    round(checks * k),
                    done.returncode,
                )
        for runs in plugins:
            if runs.walls:
                runs.note = f"first run {runs.walls[0]:.2f} s (cold model cache)"
        if cli is not None and self.cli_scale > 1:
            sampled = round(self.wanted.count() / self.cli_scale)
            cli.note = f"sampled {sampled} of {self.wanted.count()} calls, x{self.cli_scale:.1f}"
        return [*plugins, seq, threaded, *([cli] if cli else [])]


def measure_n(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """Provision N resources on a fresh server and measure every approach against it."""
    with tempfile.TemporaryDirectory(prefix=f"ohpen-bench-scale-{n}-") as tmp, moto_server() as url:
        wanted = resources(n)
        provision_s = provision(url, wanted)
        proxy = LatencyProxy(int(url.rsplit(":", 1)[1]), args.latency_ms / 1000)
        proxy.start()
        try:
            bench = Bench(args, n, Path(tmp), proxy)
            bench.write_files()
            all_runs = bench.measure_all()
        finally:
            proxy.stop()
    by_label = {runs.label: runs for runs in all_runs}
    plugin, seq = by_label["plugin"], by_label["boto3 sequential"]
    threaded = by_label[f"boto3 {args.threads} threads"]
    cli = by_label.get("aws CLI script")
    ratios = {
        "plugin/boto3-seq": report.paired_ratio(plugin.walls, seq.walls),
        "plugin/boto3-threaded": report.paired_ratio(plugin.walls, threaded.walls),
        "cli/plugin": report.paired_ratio(cli.walls, plugin.walls) if cli else None,
    }
    latency_s = args.latency_ms / 1000
    return {
        "n": n,
        "kinds": {kind: len(names) for kind, names in wanted.by_kind().items()},
        "provision_s": round(provision_s, 2),
        "approaches": [runs.summary(latency_s) for runs in all_runs],
        "ratios": ratios,
        "plugin_operations": dict(sorted(bench.operations.items())),
        "verdicts": [asdict(v) for v in report.judge(n, args.latency_ms, plugin, seq, cli)],
    }


def render(args: argparse.Namespace, result: dict[str, Any]) -> str:
    """One N's table, ratios and operations."""
    kinds = ", ".join(f"{count} {kind}" for kind, count in result["kinds"].items())
    operations = ", ".join(f"{op} {count}" for op, count in result["plugin_operations"].items())
    return "\n".join(
        [
            report.render_n(result["n"], args.latency_ms, result["approaches"]),
            report.render_ratios(result["n"], result["ratios"]),
            f"  resources: {kinds}; provisioned (straight at moto) in {result['provision_s']} s",
            f"  the plugin's requests, first run: {operations}",
            f"  bytecode: cached for every approach, one unmeasured run each (this shell: "
            f"{bytecode_cache()})",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every N, print the tables and the JSON line, exit 1 if a target was missed."""
    args = parse_args(argv)
    args.plugin_concurrency = args.concurrency or plugin_concurrency(args.repo, base_env(args.repo))
    print(f"plugin concurrency (calls at once in one process): {args.plugin_concurrency}")
    print(f'plugin: pytest {args.repo / "suites" / "smoke"} -k "{" or ".join(CHECK_TESTS)}"')
    if not args.aws:
        print("aws CLI: not on PATH, approach (d) skipped (pip install awscli to add it)")
    results = []
    for n in args.n:
        result = measure_n(args, n)
        results.append(result)
        print("\n" + render(args, result), flush=True)
    verdicts = [report.Verdict(**v) for r in results for v in r["verdicts"]]
    print("\nTargets (issue 14)\n" + report.render_verdicts(verdicts))
    missed = [v.name for v in verdicts if not v.ok]
    if missed:
        print(f"\nMissed: {', '.join(missed)}")
    line = {
        "latency_ms": args.latency_ms,
        "runs": args.runs,
        "repo": str(args.repo),
        "aws_cli": args.aws,
        "plugin_concurrency": args.plugin_concurrency,
        "results": results,
        "ok": not missed,
    }
    print(json.dumps(line))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
