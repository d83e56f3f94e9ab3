"""After a rollback, ``--verify``'s smoke run marks the new state version as applied from the
commit the rollback applied, not from the checkout's HEAD (the newer commit rolled back)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_ohpen.rollback import reapply
from pytest_ohpen.util.process import ProcessResult

APPLIED = "0123456789abcdef0123456789abcdef01234567"


def test_the_verify_run_is_told_the_applied_commit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[list[str]] = []

    def fake_run(argv: list[str], **_: Any) -> ProcessResult:
        started.append(argv)
        return ProcessResult(argv, exit_code=0)

    monkeypatch.setattr(reapply.process, "run", fake_run)
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)  # the CD run's commit: the one rolled back
    req = SimpleNamespace(
        suites=tmp_path / "suites",
        env=SimpleNamespace(name="prod"),
        targets_file=None,
        timeout=60.0,
        write_line=lambda _line: None,
    )

    assert reapply._verify(req, APPLIED) == "smoke tests passed"  # type: ignore[arg-type]

    [argv] = started
    assert argv[argv.index("--deployed-commit") + 1] == APPLIED
