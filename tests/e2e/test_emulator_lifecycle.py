"""``ohpen emulator start/status/stop`` for real: a detached daemon, its record, commands and
pytest runs attaching to it, and nothing left behind.

Every command runs as a subprocess (``python -m pytest_ohpen.cli``) with ``OHPEN_CACHE_DIR``
a folder of the test's own, so no test ever sees a user's running emulator, nor another
test's. Whether a process is gone is read from ``/proc`` here (a zombie counts as gone: this
machine's init may not reap it), not with the package's own probe.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PLAYBOOK_LIST_SUITE, REPO, environments_toml, local_env, share_generated

DAEMON = "pytest_ohpen.emulator.daemon"
ATTACHED = re.compile(
    r"^ohpen: attached to the running embedded account at (http://127\.0\.0\.1:\d+) "
    r"\(ohpen emulator start, pid (\d+)\)$",
    re.MULTILINE,
)
STARTED = re.compile(
    r"^ohpen emulator: embedded account for local at (http://127\.0\.0\.1:\d+) \(pid (\d+)\), "
    r"ready in [0-9.]+ s; stop it with: ohpen emulator stop --env local$"
)
TERRAFORM = {
    "state_bucket": "ohpen-terraform-state",
    "state_key": "ohpen-data-lake/terraform.tfstate",
    "lock_table": "ohpen-terraform-locks",
}
VERSION_ID = re.compile(r"^([0-9a-f-]{36})\s", re.MULTILINE)


def gone(pid: int) -> bool:
    """No such process, or only its zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def daemons_of(cache: Path) -> list[int]:
    """Live daemon processes started for ``cache`` (their run folder is inside it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if DAEMON in cmdline and str(cache) in cmdline and not gone(int(proc.name)):
            found.append(int(proc.name))
    return found


@dataclass
class Rehearsal:
    """Where an operator starts the emulator (``home``), a scratch clone of theirs with its own
    copy of environments.toml (``clone``), and the cache both share."""

    home: Path
    clone: Path
    cache: Path

    def ohpen(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``ohpen ARGS`` in ``cwd`` (default: home), output captured."""
        return subprocess.run(
            [sys.executable, "-m", "pytest_ohpen.cli", *args],
            cwd=cwd or self.home,
            capture_output=True,
            text=True,
            timeout=360,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )

    def record(self) -> dict[str, object]:
        """The running account's record for local, as written."""
        body: dict[str, object] = json.loads((self.cache / "emulators" / "local.json").read_text())
        return body

    def start(self, *args: str) -> tuple[str, int]:
        """``ohpen emulator start ARGS`` (default ``--env local``); its endpoint and pid."""
        started = self.ohpen("emulator", "start", *(args or ("--env", "local")))
        assert started.returncode == 0, started.stderr + started.stdout
        match = STARTED.match(started.stdout.strip())
        assert match, started.stdout
        return match.group(1), int(match.group(2))


@pytest.fixture
def rehearsal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> Iterator[Rehearsal]:
    """A fresh cache, the operator's folder and a clone (pytester's folder, with the smoke
    suite); at the end no daemon of this cache may still run (any left is killed and fails
    the test)."""
    cache = tmp_path / "cache"
    share_generated(cache)
    monkeypatch.setenv("OHPEN_CACHE_DIR", str(cache))
    home = tmp_path / "home"
    home.mkdir()
    local = local_env(terraform=dict(TERRAFORM))
    prod = {"account_id": "111122223333", "region": "eu-west-1"}
    toml = environments_toml({"local": local, "prod": prod})
    (home / "environments.toml").write_text(toml)
    (pytester.path / "environments.toml").write_text(toml)
    (pytester.path / "test_smoke.py").write_text(PLAYBOOK_LIST_SUITE)
    setup = Rehearsal(home, pytester.path, cache)
    yield setup
    left = daemons_of(cache)
    if left:
        setup.ohpen("emulator", "stop", "--env", "local")
        for pid in daemons_of(cache):
            os.killpg(pid, signal.SIGKILL)
    assert not left, f"daemons left running: {left}"


def test_start_attach_refuse_twice_and_stop_leaving_no_process(
    rehearsal: Rehearsal, pytester: pytest.Pytester
) -> None:
    began = time.monotonic()
    endpoint, pid = rehearsal.start()
    start_seconds = time.monotonic() - began
    record = rehearsal.record()
    assert record["pid"] == pid and record["endpoint"] == endpoint
    assert record["environment"] == "local" and record["account_id"] == "123456789012"
    assert record["targets"] == str(rehearsal.home / "environments.toml")
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(map(str, record))
    assert "fake-secret" not in json.dumps(record)

    status = rehearsal.ohpen("emulator", "status", "--env", "local")
    assert status.returncode == 0, status.stderr
    assert f"running at {endpoint} (pid {pid}), account 123456789012, since " in status.stdout
    assert f"environments file {rehearsal.home / 'environments.toml'}" in status.stdout

    # From the scratch clone (its own environments file): attached, one line, same state.
    seen = []
    for _ in range(2):
        versions = rehearsal.ohpen("state", "versions", "--env", "local", cwd=rehearsal.clone)
        assert versions.returncode == 0, versions.stderr
        assert ATTACHED.findall(versions.stdout) == [(endpoint, str(pid))], versions.stdout
        seen.append(VERSION_ID.findall(versions.stdout))
    assert len(seen[0]) >= 2 and seen[0] == seen[1]

    smoke = pytester.runpytest_subprocess("--env", "local", "-p", "no:cacheprovider")
    smoke.assert_outcomes(passed=6, skipped=1)
    assert ATTACHED.findall(smoke.stdout.str()) == [(endpoint, str(pid))]

    omit = pytester.runpytest_subprocess(
        "--env", "local", "--emulator-omit", "ohpen-silver", "-p", "no:cacheprovider"
    )
    assert omit.ret == 4
    omit.stderr.fnmatch_lines(
        [
            f"ERROR: ohpen: --emulator-omit: the embedded account at {endpoint} (pid {pid}) "
            "is shared (ohpen emulator start) and --emulator-omit would change it; stop it "
            "(ohpen emulator stop --env local) or run without --emulator-omit"
        ]
    )

    again = rehearsal.ohpen("emulator", "start", "--env", "local")
    assert again.returncode == 1
    assert again.stderr.startswith(
        f"ohpen emulator: an embedded account for local is already running at {endpoint} "
        f"(pid {pid}), since "
    ), again.stderr
    assert again.stderr.strip().endswith("stop it with: ohpen emulator stop --env local")
    assert daemons_of(rehearsal.cache) == [pid]  # the refused start started nothing

    # The account lived across all of these commands: the same one, still answering.
    assert rehearsal.record()["pid"] == pid
    began = time.monotonic()
    stopped = rehearsal.ohpen("emulator", "stop")  # the one running: no --env needed
    stop_seconds = time.monotonic() - began
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith(
        f"ohpen emulator: stopped the embedded account for local at {endpoint} (pid {pid}) in "
    )
    assert gone(pid)
    assert list((rehearsal.cache / "emulators").iterdir()) == []
    print(f"start {start_seconds:.1f} s, stop {stop_seconds:.1f} s")

    status = rehearsal.ohpen("emulator", "status", "--env", "local")
    assert (status.returncode, status.stderr) == (
        1,
        "ohpen emulator: no embedded account is running for local\n",
    )
    stop_again = rehearsal.ohpen("emulator", "stop", "--env", "local")
    assert (stop_again.returncode, stop_again.stdout) == (
        0,
        "ohpen emulator: no embedded account is running for local; nothing to stop\n",
    )
    private = rehearsal.ohpen("state", "versions", "--env", "local", cwd=rehearsal.clone)
    assert private.returncode == 0 and not ATTACHED.search(private.stdout)


def test_a_killed_daemon_leaves_a_stale_record_that_status_reports_and_clears(
    rehearsal: Rehearsal,
) -> None:
    _, pid = rehearsal.start()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    attach = rehearsal.ohpen("state", "versions", "--env", "local")
    assert attach.returncode == 0, attach.stderr
    assert not ATTACHED.search(attach.stdout)
    assert (
        f"ohpen: not attaching to the embedded account recorded for local (pid {pid} is gone; "
        "`ohpen emulator status` clears the record); starting a private one"
    ) in attach.stdout

    status = rehearsal.ohpen("emulator", "status", "--env", "local")
    assert status.returncode == 1
    assert status.stderr == (
        f"ohpen emulator: stale record for local (pid {pid} is gone); removed it\n"
    )
    assert list((rehearsal.cache / "emulators").iterdir()) == []
    assert rehearsal.ohpen("emulator", "status", "--env", "local").returncode == 1


def test_another_account_id_is_not_attached_to(rehearsal: Rehearsal) -> None:
    endpoint, pid = rehearsal.start()
    other = environments_toml(
        {"local": local_env(account_id="210987654321", terraform=dict(TERRAFORM))}
    )
    (rehearsal.clone / "environments.toml").write_text(other)
    versions = rehearsal.ohpen("state", "versions", "--env", "local", cwd=rehearsal.clone)
    assert versions.returncode == 0, versions.stderr
    assert (
        f"ohpen: not attaching to the running embedded account at {endpoint} (pid {pid}): it "
        "serves account 123456789012, environment local here is account 210987654321; "
        "starting a private one"
    ) in versions.stdout
    assert "account 210987654321 verified" in versions.stdout
    assert rehearsal.ohpen("emulator", "stop", "--env", "local").returncode == 0
    assert gone(pid)


def test_start_refuses_an_environment_that_is_not_emulated(rehearsal: Rehearsal) -> None:
    refused = rehearsal.ohpen("emulator", "start", "--env", "prod")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"ohpen: error: {rehearsal.home / 'environments.toml'}: environment 'prod' is not "
        "emulated: only an environment with emulated = true has an embedded account to "
        "start (try --env local)\n"
    )
    assert not (rehearsal.cache / "emulators" / "prod.json").exists()
    assert daemons_of(rehearsal.cache) == []


def test_a_daemon_not_ready_in_time_is_stopped_and_leaves_nothing(rehearsal: Rehearsal) -> None:
    late = rehearsal.ohpen("emulator", "start", "--env", "local", "--wait", "0.3")
    assert late.returncode == 1
    assert late.stderr.startswith(
        "ohpen emulator: the embedded account for local did not start: not ready within "
        "0.3 s (--wait or OHPEN_EMULATOR_START_TIMEOUT)"
    ), late.stderr
    assert late.stderr.count("\n") == 1
    assert daemons_of(rehearsal.cache) == []
    assert list((rehearsal.cache / "emulators").iterdir()) == []


def in_the_daemon_start_does(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose daemon (only) runs ``body`` as EmbeddedAccount.start (a
    sitecustomize loaded by it): a provisioning that fails or takes long, on demand."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import sys, time\n"
        f"if {DAEMON!r} in sys.orig_argv:\n"
        "    from pytest_ohpen.emulator.server import EmbeddedAccount\n"
        "    def start(self):\n"
        f"        {body}\n"
        "    EmbeddedAccount.start = start\n"
    )
    return {**os.environ, "PYTHONPATH": f"{hook}{os.pathsep}{REPO}"}


def test_a_daemon_that_fails_says_why_in_one_line(rehearsal: Rehearsal, tmp_path: Path) -> None:
    failed = subprocess.run(
        [sys.executable, "-m", "pytest_ohpen.cli", "emulator", "start", "--env", "local"],
        cwd=rehearsal.home,
        capture_output=True,
        text=True,
        timeout=120,
        env=in_the_daemon_start_does(tmp_path, "raise RuntimeError('moto would not listen')"),
    )
    assert failed.returncode == 1
    assert failed.stderr == (
        "ohpen emulator: the embedded account for local did not start: the embedded account "
        "for environment 'local' could not start: RuntimeError: moto would not listen "
        "(daemon exit 1)\n"
    )
    assert daemons_of(rehearsal.cache) == []
    assert list((rehearsal.cache / "emulators").iterdir()) == []


def test_sigterm_stops_the_daemon_which_cleans_up_itself(rehearsal: Rehearsal) -> None:
    # No --env: the environments file's only emulated environment.
    _, pid = rehearsal.start("--targets", "environments.toml")
    run_dir = Path(str(rehearsal.record()["log"])).parent
    assert run_dir.is_dir()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid)
    assert list((rehearsal.cache / "emulators").iterdir()) == []
    assert rehearsal.ohpen("emulator", "status", "--env", "local").returncode == 1


def test_while_one_starts_others_are_told_and_ctrl_c_leaves_nothing(
    rehearsal: Rehearsal, tmp_path: Path
) -> None:
    starting = subprocess.Popen(
        [sys.executable, "-m", "pytest_ohpen.cli", "emulator", "start", "--env", "local"],
        cwd=rehearsal.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=in_the_daemon_start_does(tmp_path, "time.sleep(60)"),
    )
    try:
        deadline = time.monotonic() + 30
        while not daemons_of(rehearsal.cache) and time.monotonic() < deadline:
            time.sleep(0.05)
        [daemon] = daemons_of(rehearsal.cache)
        told = (
            "ohpen emulator: the embedded account for local is being started (ohpen emulator "
            f"start, pid {starting.pid})"
        )
        status = rehearsal.ohpen("emulator", "status", "--env", "local")
        assert (status.returncode, status.stderr) == (1, told + "\n")
        second = rehearsal.ohpen("emulator", "start", "--env", "local")
        assert (second.returncode, second.stderr) == (1, told + "\n")
        stop = rehearsal.ohpen("emulator", "stop", "--env", "local")
        assert (stop.returncode, stop.stderr) == (1, told + "; stop again once it is ready\n")
        assert daemons_of(rehearsal.cache) == [daemon]
    finally:
        starting.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = starting.communicate(timeout=60)
    assert starting.returncode == 130, err
    assert gone(daemon)
    assert list((rehearsal.cache / "emulators").iterdir()) == []


@pytest.mark.parametrize("command", ["start", "status", "stop"])
def test_a_cache_folder_that_is_a_file_is_one_line_for_every_command(
    rehearsal: Rehearsal, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """OHPEN_CACHE_DIR naming a file: the line names the variable and the fix, no traceback."""
    monkeypatch.setenv("OHPEN_CACHE_DIR", str(rehearsal.home / "environments.toml"))
    done = rehearsal.ohpen("emulator", command, "--env", "local")
    assert done.returncode == 2
    assert done.stderr == (
        f"ohpen: error: OHPEN_CACHE_DIR={str(rehearsal.home / 'environments.toml')!r}: it is "
        "not a folder; set OHPEN_CACHE_DIR to a folder you can write\n"
    )
    assert daemons_of(rehearsal.cache) == []
