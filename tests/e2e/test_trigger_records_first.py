"""Issue 11 item 4 for the rollback trigger: an approved automatic apply runs only after the
readiness report and a ``rollback_trigger`` record with ``status: started`` are written.
When either cannot be written the command runs as a dry-run at most and the run says why
in one line; when both can, the outcome record names the started one.

The runs reuse test_readiness_run's red run (the embedded account, the recorder command
that logs its argv, a two-commit git checkout); paths are made unwritable by a regular
file where their folder should be (tests run as root, so a chmod would not stop writes).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_readiness_run import (
    audit_records,
    calls_of,
    lake,  # noqa: F401 (the fixture)
    red,
    write_environment,
)

NOT_RECORDED = "ohpen: rollback not applied: the rollback started record cannot be written"


def _approved_apply(pytester: pytest.Pytester, **keys: object) -> None:
    write_environment(pytester, mode="apply", auto_apply=True, **keys)


def _blocker_file(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "afile"
    path.write_text("not a folder\n")
    return path


def test_apply_writes_the_started_record_first_and_the_outcome_names_it(
    lake: pytest.Pytester,  # noqa: F811
) -> None:
    _approved_apply(lake)

    result = red(lake, "--rollback-approved-by", "alice")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    [call] = calls_of(lake)
    assert call["argv"][-1] == "--apply"
    records = audit_records(lake, "rollback_trigger")
    [started] = [r for r in records if r["data"]["status"] == "started"]
    [finished] = [r for r in records if r["data"]["status"] == "finished"]
    assert started["data"]["mode"] == "apply" and started["data"]["exit_code"] is None
    assert finished["data"]["started_record"] == started["id"]
    assert finished["data"]["exit_code"] == 0
    assert started["recorded_at"] <= finished["recorded_at"]


def test_an_unwritable_audit_folder_keeps_the_apply_from_running(
    lake: pytest.Pytester,  # noqa: F811
) -> None:
    """No record can be written: the command runs with --dry-run, never --apply."""
    blocker = _blocker_file(lake)
    text = lake.path.joinpath("environments.toml")
    _approved_apply(lake)
    text.write_text(text.read_text() + f'[local.audit]\ndirectory = "{blocker / "audit"}"\n')

    result = red(lake, "--rollback-approved-by", "alice")

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    [call] = calls_of(lake)
    assert "--apply" not in call["argv"]
    assert call["argv"][-1] == "--dry-run"
    assert call["env"]["OHPEN_ROLLBACK_MODE"] == "dry-run"
    lines = [line for line in result.stdout.lines if line.startswith(NOT_RECORDED)]
    assert len(lines) == 1, result.stdout.str()
    assert "nothing is applied (dry-run only)" in lines[0]


def test_an_unwritable_report_path_keeps_the_apply_from_running(
    lake: pytest.Pytester,  # noqa: F811
) -> None:
    blocker = _blocker_file(lake)
    _approved_apply(lake)

    result = red(
        lake, "--rollback-approved-by", "alice", "--readiness-report", str(blocker / "r.json")
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    [call] = calls_of(lake)
    assert call["argv"][-1] == "--dry-run"
    result.stdout.fnmatch_lines(
        ["ohpen: rollback not applied: the readiness report * cannot be written*"]
    )
    [record] = audit_records(lake, "rollback_trigger")  # the outcome: no apply was started
    assert record["data"]["mode"] == "dry-run"
    assert any("cannot be written" in r for r in record["data"]["fallback_reasons"])
