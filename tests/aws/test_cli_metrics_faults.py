"""``ohpen metrics`` on a damaged or empty audit store, in-process through ``cli.main``: corrupt
records are named and give exit 3, NaN/Infinity is corrupt, ``--since`` is bounded (exit 2),
and no data is its own state (exit 5), never a met target.

The environment points at a port nothing listens on: any AWS call would fail the test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_ohpen import cli
from pytest_ohpen.cli import metrics as cli_metrics
from pytest_ohpen.records.store import AuditStore

NOW = datetime(2024, 9, 30, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Audit:
    """[prod] with its audit directory, records written through the store."""

    def __init__(self, root: Path) -> None:
        self.directory = root / "audit"
        (root / "environments.toml").write_text(
            '[prod]\naccount_id = "123456789012"\nregion = "eu-west-1"\n'
            f'endpoint_url = "http://127.0.0.1:9"\n[prod.audit]\ndirectory = "{self.directory}"\n'
        )
        self.at = NOW
        self.store = AuditStore(self.directory, clock=lambda: self.at)

    def incident(self, started: datetime, minutes: float, **overrides: Any) -> Path:
        finished = started + timedelta(minutes=minutes)
        data = {
            "started_at": iso(started),
            "finished_at": iso(finished),
            "mode": "apply",
            "outcome": "applied",
            "verification": "smoke tests passed",
            "initiated_by": "trigger",
            **overrides,
        }
        self.at = finished
        record = self.store.write("incident", "prod", data)
        return self.directory / "prod" / "incident" / f"{record.id}.json"

    def drill(self, started: datetime, **overrides: Any) -> Path:
        data = {
            "started_at": iso(started),
            "fault": "deleted-glue-job",
            "passed": True,
            "first_attempt_success": True,
            "time_to_detect_seconds": 20,
            "rollback_seconds": 60,
            "time_to_green_seconds": 90,
            **overrides,
        }
        self.at = started + timedelta(minutes=5)
        record = self.store.write("drill", "prod", data)
        return self.directory / "prod" / "drill" / f"{record.id}.json"


@pytest.fixture
def audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Audit:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_metrics, "_now", lambda: NOW)
    return Audit(tmp_path)


@pytest.fixture
def ohpen(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> tuple[int, str, str]:
        if cli_metrics not in cli.SUBCOMMANDS:
            monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, cli_metrics))
        capsys.readouterr()
        code = cli.main(["metrics", "--env", "prod", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_an_unreadable_record_is_named_and_exits_3_not_0(audit: Audit, ohpen: Any) -> None:
    audit.incident(NOW - timedelta(days=400), 5)  # history exists, outside the window
    broken = audit.directory / "prod" / "incident" / "20240901T000000Z-incident-deadbeef.json"
    broken.write_text('{"schema_version": 1, "id": ')

    code, out, err = ohpen()

    assert code == 3
    assert f"ohpen: corrupt audit record {broken}: " in err
    assert "corrupt or unreadable records, not counted: 1" in out
    assert str(broken) in out  # the table names it too
    assert err.splitlines()[-1].startswith("ohpen: 1 corrupt or unreadable audit record(s)")
    assert "Traceback" not in err


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_nan_or_infinity_in_a_record_is_corrupt_not_a_crash(
    audit: Audit, ohpen: Any, constant: str, fmt: str
) -> None:
    path = audit.drill(NOW - timedelta(days=3))
    path.write_text(
        path.read_text().replace(
            '"time_to_detect_seconds": 20', f'"time_to_detect_seconds": {constant}'
        )
    )

    code, out, err = ohpen("--format", fmt)

    assert code == 3, err
    assert "time_to_detect_seconds" in err and path.stem in err
    if fmt == "json":
        document = json.loads(out)  # valid JSON: no NaN leaked into it
        assert document["state"] == "corrupt" and document["ok"] is False
        assert [c["where"] for c in document["corrupt"]] == [f"prod/drill/{path.name}"]


def test_nan_anywhere_in_an_incident_is_corrupt(audit: Audit, ohpen: Any) -> None:
    path = audit.incident(NOW - timedelta(days=3), 5, cost=1.5)
    path.write_text(path.read_text().replace('"cost": 1.5', '"cost": NaN'))

    code, _, err = ohpen()

    assert code == 3
    assert f"prod/incident/{path.name}: data.cost: nan is not a number" in err


def test_corrupt_outranks_a_breach_and_the_breach_is_still_named(audit: Audit, ohpen: Any) -> None:
    audit.incident(NOW - timedelta(days=3), 45, initiated_by="operator")  # manual > 30 min
    audit.incident(NOW - timedelta(days=2), 5, initiated_by="cron")  # malformed

    code, _, err = ohpen()

    assert code == 3
    assert "ohpen: targets breached: rollbacks per quarter" in err
    assert "initiated_by" in err


@pytest.mark.parametrize(
    ("since", "says"),
    [
        ("99999999999d", "at most 3660 days"),
        ("3661d", "at most 3660 days"),
        ("600m", "at most 3660 days"),
        ("9" * 5000 + "d", "at most 3660 days"),
        ("0001-01-01", "at most 3660 days (about ten years) before now"),
    ],
)
def test_since_is_bounded_with_one_line_and_exit_2(
    audit: Audit, ohpen: Any, since: str, says: str
) -> None:
    code, out, err = ohpen("--since", since)
    assert code == 2
    assert out == ""
    assert err.startswith("ohpen: error: --since ")
    assert says in err and err.count("\n") == 1


def test_since_at_the_bound_is_accepted(audit: Audit, ohpen: Any) -> None:
    audit.drill(NOW - timedelta(days=3))
    assert ohpen("--since", "3660d")[0] == 0


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_an_empty_store_is_no_data_never_met(audit: Audit, ohpen: Any, fmt: str) -> None:
    code, out, err = ohpen("--format", fmt)

    assert code == 5
    assert err.startswith(f"ohpen: no data: the audit store ({audit.directory}) holds no ")
    assert err.count("\n") == 1
    if fmt == "json":
        document = json.loads(out)
        assert (document["state"], document["ok"]) == ("no data", False)
        assert {t["state"] for t in document["targets"]} == {"no data"}
        assert not any(t["ok"] for t in document["targets"])
    elif fmt == "table":
        targets = out.split("targets:\n", 1)[1].splitlines()
        assert len(targets) == 6 and all(line.startswith("  NO DATA ") for line in targets)
    else:
        rows = [line for line in out.splitlines() if line.startswith("| ") and "target" not in line]
        assert sum(line.endswith("| no data |") for line in rows) == 6
        assert not any(line.endswith("| met |") for line in rows)


def test_a_quiet_window_meets_the_frequency_and_the_rest_is_no_data_not_met(
    audit: Audit, ohpen: Any
) -> None:
    audit.drill(NOW - timedelta(days=3))

    code, out, _ = ohpen("--format", "json")

    states = {t["name"]: t["state"] for t in json.loads(out)["targets"]}
    assert code == 0
    assert states["rollbacks per quarter"] == states["rollbacks per month (alert)"] == "met"
    assert states["MTTR (mean)"] == states["first-attempt success rate"] == "no data"
    assert [t["ok"] for t in json.loads(out)["targets"]] == [True, True, False, False, False, False]


def test_a_known_good_mark_is_history_enough_for_a_quiet_window_to_be_ok(
    audit: Audit, ohpen: Any
) -> None:
    """A production that never rolled back still has known-good marks from its green runs."""
    audit.store.write("known_good", "prod", {"state_version": "v1"})

    code, out, err = ohpen()

    assert code == 0, err
    targets = out.split("targets:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in targets] == ["ok", "ok", "NO", "NO", "NO", "NO"]
