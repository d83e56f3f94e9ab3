"""The README's "Rehearse a rollback", as an operator runs it, for real: a shared embedded
account, a breaking change deployed from a scratch clone with `ohpen deploy --apply`, smoke
red, the rollback script's dry-run showing the real resource change, `--apply`, smoke green,
the state history and records consistent, and `ohpen emulator stop` leaving nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, share_generated

JOB = "ohpen-transaction-etl-spark"
RENAME = ("  name              = each.key", '  name              = "${each.key}-v2"')


def _run(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _clone(tmp_path: Path) -> Path:
    """A checkout like the operator's: the stack's code, the scripts, the suites and the
    environments file, one commit (the good revision)."""
    clone = tmp_path / "clone"
    for part in ("infra", "scripts", "suites"):
        shutil.copytree(REPO / part, clone / part, ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copy(REPO / "environments.toml", clone)
    (clone / ".gitignore").write_text(".terraform/\n.terraform.lock.hcl\nreports/\n")
    _git(clone, "init", "-q")
    _git(clone, "add", "-A")
    _git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "good")
    return clone


def test_the_rollback_rehearsal_end_to_end(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    cache = tmp_path / "cache"
    share_generated(cache)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "OHPEN_CACHE_DIR": str(cache),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    ohpen = [sys.executable, "-m", "pytest_ohpen.cli"]
    smoke = [sys.executable, "-m", "pytest", "suites/smoke", "--env", "local", "-p",
             "no:cacheprovider", "--reruns", "0"]  # fmt: skip
    started = _run(clone, env, *ohpen, "emulator", "start", "--env", "local")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        green = _run(clone, env, *smoke)
        assert green.returncode == 0, green.stdout[-3000:]
        assert "ohpen: attached to the running embedded account" in green.stdout

        etl = clone / "infra" / "terraform" / "etl.tf"
        etl.write_text(etl.read_text().replace(*RENAME))
        _git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "bad")
        bad = _git(clone, "rev-parse", "HEAD")
        deployed = _run(clone, env, *ohpen, "deploy", "--env", "local", "--apply")
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-2000:]
        assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in deployed.stdout

        red = _run(clone, env, *smoke)
        assert red.returncode == 1, red.stdout[-3000:]
        assert f"Glue job {JOB}: not found" in red.stdout
        assert "--apply" in red.stdout  # the readiness report names the exact apply command

        script = ["scripts/rollback_terraform.sh", "--env", "local"]
        dry = _run(clone, env, *script)
        assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-2000:]
        assert f'aws_glue_job.etl["{JOB}"] must be replaced' in dry.stdout
        assert f'"{JOB}-v2" -> "{JOB}"' in dry.stdout
        applied = _run(clone, env, *script, "--apply")
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-2000:]

        again = _run(clone, env, *smoke)
        assert again.returncode == 0, again.stdout[-3000:]

        listed = _run(clone, env, *ohpen, "state", "versions", "--env", "local")
        rows = [line for line in listed.stdout.splitlines() if "-" in line.split(" ")[0]]
        assert len(rows) == 5  # three recorded applies, the bad deploy, the rollback
        records = clone / "reports" / "audit" / "local"
        [finished] = [
            json.loads(p.read_text())["data"]
            for p in (records / "deployment").glob("*.json")
            if json.loads(p.read_text())["data"].get("status") == "finished"
        ]
        assert finished["commit"] == bad and finished["result"] == "succeeded"
        [incident] = [json.loads(p.read_text())["data"] for p in (records / "incident").glob("*")]
        assert incident["outcome"] == "applied"
    finally:
        stopped = _run(clone, env, *ohpen, "emulator", "stop", "--env", "local")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not list((cache / "emulators").glob("*.json"))
    daemons = _run(clone, env, "pgrep", "-f", str(cache))
    assert daemons.stdout.strip() == "", f"left running: {daemons.stdout}"


pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
