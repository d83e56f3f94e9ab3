"""``ohpen metrics`` on held-out-style local stores, in-process: the exit code says which
state the report is in (0 no breach, 1 breached, 3 corrupt, 5 no data), corrupt records
are named and never crash it, and ``--detected-at`` is checked where it is given.

No bucket is configured, so the command makes no AWS call (the unit tier's guard would
stop one).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rollback_records import Audit, at

from pytest_ohpen import cli
from pytest_ohpen.cli import metrics as cli_metrics
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.rollback.incident import (
    detected_at_of,
    detected_at_option,
    incident_data,
    incident_key,
)

NOW = at(9, 30, 12)


@pytest.fixture
def audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Audit:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_metrics, "_now", lambda: NOW)
    (tmp_path / "environments.toml").write_text(
        '[prod]\naccount_id = "123456789012"\nregion = "eu-west-1"\n'
        f'[prod.audit]\ndirectory = "{tmp_path / "audit"}"\n'
    )
    return Audit(tmp_path / "audit")


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["metrics", "--env", "prod", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_no_data_at_all_is_exit_5_and_every_target_says_no_data(
    audit: Audit, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code, out, err = ohpen(capsys, "--format", fmt)

    assert code == 5
    assert "no data" in err and "(exit 5)" in err
    if fmt == "json":
        document = json.loads(out)
        assert document["state"] == "no data" and document["ok"] is False
        assert {t["state"] for t in document["targets"]} == {"no data"}
    else:
        assert "met" not in out.replace("metrics", "")


def test_a_quiet_quarter_with_history_is_0_and_its_rows_without_data_say_so(
    audit: Audit, capsys: pytest.CaptureFixture[str]
) -> None:
    audit.deployment(at(9, 1), 5, "c1aaaaaa")  # a deployment is history enough

    code, out, _ = ohpen(capsys, "--format", "json")

    states = [t["state"] for t in json.loads(out)["targets"]]
    assert code == 0
    assert states == ["met", "met", "no data", "no data", "no data", "no data"]


def test_a_breach_is_exit_1(audit: Audit, capsys: pytest.CaptureFixture[str]) -> None:
    audit.trigger(at(9, 2, 10), 3)  # a rollback in the quarter, by the trigger alone

    code, out, err = ohpen(capsys, "--format", "json")

    assert code == 1
    assert json.loads(out)["rollbacks"]["count"] == 1
    assert err == "ohpen: targets breached: rollbacks per quarter\n"


def test_corrupt_records_of_every_kind_are_named_and_exit_3(
    audit: Audit, capsys: pytest.CaptureFixture[str]
) -> None:
    good = audit.terraform(at(9, 1), 5)
    audit.write("incident", at(9, 2), {**good.data, "finished_at": "later"})
    audit.write("state_restore", at(9, 3), {"status": "half-done"})
    audit.write("rollback_trigger", at(9, 4), {"status": "finished", "mode": 7})
    audit.write("deployment", at(9, 5), {"status": "started", "ended_at": 12})
    unreadable = audit.store.directory / "prod" / "data_rollback" / "20240906T000000Z-x.json"
    unreadable.parent.mkdir(parents=True)
    unreadable.write_text('{"schema_version": 1, "id": ')

    code, out, err = ohpen(capsys)

    assert code == 3, err
    assert "Traceback" not in err
    for named in (
        "finished_at: not ISO 8601: 'later'",
        "status: expected one of",
        "mode: expected a string, got 7",
        "ended_at: expected an ISO 8601 string, got 12",
        str(unreadable),
    ):
        assert named in err, named
    assert "corrupt or unreadable records, not counted: 5" in out
    assert "1 rollback (" in out  # the good one still counted


def test_the_exit_codes_are_documented_once_and_distinct() -> None:
    assert (cli_metrics.EXIT_CORRUPT, cli_metrics.EXIT_NO_DATA) == (3, 5)
    doc = cli_metrics.__doc__ or ""
    assert "3 corrupt" in doc and "5 no data" in doc and "1 a target is breached" in doc


# ---------------------------------------------------------------- --detected-at, the key


def test_detected_at_is_iso_with_a_zone_and_not_in_the_future() -> None:
    assert detected_at_option("2024-07-01T11:30:00+02:00") == "2024-07-01T09:30:00Z"
    for bad in ("yesterday", "2024-07-01T09:30:00"):
        with pytest.raises(argparse.ArgumentTypeError):
            detected_at_option(bad)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with pytest.raises(argparse.ArgumentTypeError, match="future"):
        detected_at_option(future)


def test_the_option_wins_over_the_hand_off_and_a_bad_hand_off_is_one_line() -> None:
    assert detected_at_of("2024-07-01T09:30:00Z", "garbage") == "2024-07-01T09:30:00Z"
    assert detected_at_of(None, "2024-07-01T09:30:00Z") == "2024-07-01T09:30:00Z"
    assert detected_at_of(None, None) is None
    with pytest.raises(ConfigError, match="OHPEN_DETECTED_AT 'garbage'"):
        detected_at_of(None, "garbage")


@pytest.mark.parametrize(
    "argv",
    [
        ["rollback", "terraform", "--detected-at", "soon"],
        ["state", "restore", "v1", "--detected-at", "soon"],
        [
            "data",
            "rollback",
            "--layer",
            "silver",
            "--to",
            "r1",
            "--reason",
            "x",
            "--detected-at",
            "soon",
        ],
    ],
)
def test_every_rollback_command_takes_detected_at(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args(argv)
    assert exited.value.code == 2
    assert "--detected-at: 'soon': expected an ISO 8601 time" in capsys.readouterr().err


def test_incidents_carry_the_key_of_their_detection() -> None:
    data = incident_data(
        reason="r",
        deployment_sha=None,
        restored_sha=None,
        restored_state_version=None,
        operator={},
        started_at="2024-07-01T10:00:00Z",
        finished_at="2024-07-01T10:05:00Z",
        mode="apply",
        outcome="applied",
        verification="not run",
        detected_at="2024-07-01T09:59:58.123456Z",
    )
    assert data["incident_key"] == "detected-2024-07-01T09:59:58Z"
    assert incident_key(None) is None and incident_key("nonsense") is None
