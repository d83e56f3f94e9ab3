"""util/process.run interrupted (Ctrl-C, a daemon's stop signal) while its program runs:
the program's process group is stopped before the exception goes on, so nothing outlives
the interrupted caller (``ohpen emulator stop`` during a provisioning's Terraform apply)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType

import pytest

from pytest_ohpen.util import process


class Interrupted(BaseException):
    """What a stop signal's handler raises in the daemon."""


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def test_an_interrupted_run_stops_its_program_and_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "script.py"
    script.write_text(
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(60)\n"
    )

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.5)
        began = time.monotonic()
        with pytest.raises(Interrupted):
            process.run([sys.executable, str(script)], timeout=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - began < 30
    leader, child = map(int, pids.read_text().split())
    deadline = time.monotonic() + 10
    while not (gone(leader) and gone(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(leader) and gone(child)
