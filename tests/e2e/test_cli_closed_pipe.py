"""`ohpen ... | head`: a reader that stops early is not an error: no traceback, exit 141."""

from __future__ import annotations

import subprocess
import sys

# `ohpen readiness` whose handler prints far more than a pipe buffer holds.
MANY_LINES = """
import sys
from pytest_ohpen import cli
from pytest_ohpen.cli import readiness

def many_lines(args):
    for i in range(200000):
        print("line", i)
    return 0

readiness.run_readiness = many_lines
sys.exit(cli.main(["readiness", "--env", "local"]))
"""


def test_a_closed_pipe_gives_no_traceback() -> None:
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert reader.stdin is not None
    done = subprocess.run(
        [sys.executable, "-c", MANY_LINES], stdout=reader.stdin, stderr=subprocess.PIPE, timeout=60
    )
    reader.stdin.close()
    reader.wait(timeout=10)
    assert "Traceback" not in done.stderr.decode(), done.stderr.decode()
    assert done.returncode == 141
