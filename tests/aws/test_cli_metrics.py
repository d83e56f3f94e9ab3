"""``ohpen metrics``, in-process through ``cli.main``: formats, exit codes, chart, publish.

Without ``--publish`` the environment points at a port nothing listens on, so any AWS
call would fail the test: the metrics come from the local audit directory alone. With
``--publish`` it points at the test's moto server as a non-emulated account, so the
account guard runs first and the figures are read back from CloudWatch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen import cli
from pytest_ohpen.cli import metrics as cli_metrics
from pytest_ohpen.records.store import AuditStore

NOW = datetime(2024, 9, 30, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
REGION = "eu-west-1"
NOWHERE = "http://127.0.0.1:9"
BUCKET = "ohpen-audit"
PREFIX = "pytest-ohpen/audit"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def toml(endpoint: str, audit: Path, account: str = ACCOUNT, bucket: str | None = None) -> str:
    return (
        f'[prod]\naccount_id = "{account}"\nregion = "{REGION}"\n'
        f'endpoint_url = "{endpoint}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{audit}"\n'
    ) + (f'bucket = "{bucket}"\nprefix = "{PREFIX}"\n' if bucket else "")


class Prod:
    """The working directory: environments.toml for [prod] and its audit directory."""

    def __init__(self, root: Path, endpoint: str) -> None:
        self.root = root
        self.audit = root / "audit"
        (root / "environments.toml").write_text(toml(endpoint, self.audit))
        self.at = NOW
        self.store = AuditStore(self.audit, clock=lambda: self.at)

    def keep_in_s3(self, endpoint: str) -> None:
        """Give [prod] an audit bucket, and write from now on only to it (and to a local
        directory that is not the environment's), as another machine would."""
        (self.root / "environments.toml").write_text(toml(endpoint, self.audit, bucket=BUCKET))
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.store = AuditStore(
            self.root / "another-machine",
            s3=s3,
            bucket=BUCKET,
            prefix=PREFIX,
            clock=lambda: self.at,
        )

    def incident(
        self, started: datetime, minutes: float, trigger: bool = False, **overrides: Any
    ) -> None:
        finished = started + timedelta(minutes=minutes)
        data = {
            "reason": "smoke tests failed",
            "started_at": iso(started),
            "finished_at": iso(finished),
            "mode": "apply",
            "outcome": "applied",
            "verification": "smoke tests passed",
            "initiated_by": "trigger" if trigger else "operator",
            "detected_at": None,
            **overrides,
        }
        self.at = finished
        self.store.write("incident", "prod", data)


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Prod:
    """[prod] at an address nothing listens on, and now fixed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_metrics, "_now", lambda: NOW)
    return Prod(tmp_path, NOWHERE)


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``ohpen ARGV`` in-process through cli.main: exit, stdout, stderr."""
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


Run = Any


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(*argv: str) -> tuple[int, str, str]:
        return ohpen(capsys, *argv)

    return call


def test_no_rollback_is_no_data_and_exits_5_with_the_table(prod: Prod, run: Run) -> None:
    code, out, err = run("metrics", "--env", "prod")
    assert code == 5, err
    assert out.startswith("Rollback metrics: prod, 2024-07-02 12:00Z to 2024-09-30 12:00Z")
    assert "0 rollbacks" in out
    assert err.startswith(f"ohpen: no data: the audit store ({prod.audit}) holds no rollback")
    assert err.count("\n") == 1


def test_a_breached_target_exits_1_and_names_it(prod: Prod, run: Run) -> None:
    prod.incident(NOW - timedelta(days=10), 45)  # manual, above 30 min

    code, out, err = run("metrics", "--env", "prod")

    assert code == 1
    assert "BREACH" in out
    assert err == (
        "ohpen: targets breached: rollbacks per quarter, manual rollback duration (median)\n"
    )


def test_since_limits_the_window(prod: Prod, run: Run) -> None:
    prod.incident(NOW - timedelta(days=100), 5)
    assert run("metrics", "--env", "prod")[0] == 0  # default 90d: outside
    code, out, _ = run("metrics", "--env", "prod", "--since", "2024-06-01", "--format", "json")
    assert code == 1
    assert json.loads(out)["rollbacks"]["count"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "nonsense"], "ohpen: error: --since 'nonsense': expected a look-back"),
        (["--since", "2024-10-01"], "ohpen: error: --since '2024-10-01': the window must start"),
        (["--env", "staging"], "ohpen: error: "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    prod: Prod, run: Run, argv: list[str], message: str
) -> None:
    code, out, err = run("metrics", "--env", "prod", *argv)
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_json_parses_and_has_the_schema_version(prod: Prod, run: Run) -> None:
    prod.incident(NOW - timedelta(days=3), 4, trigger=True)
    prod.incident(NOW - timedelta(days=2), 20, verification="smoke tests failed (exit code 1)")

    code, out, _ = run("metrics", "--env", "prod", "--format", "json")

    document = json.loads(out)
    assert code == 1
    assert document["schema_version"] == 3
    assert document["environment"] == "prod"
    assert document["now"] == "2024-09-30T12:00:00Z"
    assert document["rollbacks"]["count"] == 2
    assert document["first_attempt_success"]["rate"] == 0.5
    assert document["ok"] is False


def test_markdown(prod: Prod, run: Run) -> None:
    code, out, _ = run("metrics", "--env", "prod", "--format", "markdown")
    assert code == 5
    assert out.startswith("# Rollback metrics: prod\n")
    assert (
        "| rollbacks per quarter | nothing of the environment in the audit store "
        "| < 1 per quarter | no data |"
    ) in out


def test_malformed_records_are_named_on_stderr_and_exit_3(prod: Prod, run: Run) -> None:
    prod.incident(NOW - timedelta(days=3), 4, initiated_by="cron")

    code, out, err = run("metrics", "--env", "prod")

    assert code == 3
    assert "corrupt or unreadable records, not counted: 1" in out
    assert err.startswith("ohpen: corrupt audit record prod/incident/")
    assert "initiated_by" in err


def test_chart_that_cannot_be_written_exits_2(prod: Prod, run: Run) -> None:
    (prod.root / "file").write_text("")
    code, _, err = run("metrics", "--env", "prod", "--chart", str(prod.root / "file" / "x.png"))
    assert code == 2
    assert err.startswith("ohpen: error: --chart ")
    assert err.count("\n") == 1


# ---------------------------------------------------------------- records kept in S3


def test_records_kept_only_in_the_audit_bucket_are_counted(
    prod: Prod, fresh_moto: str, run: Run
) -> None:
    """[prod.audit] names a bucket: the metrics read it (after the account guard, whose line
    goes to stderr), so an incident recorded elsewhere still counts."""
    prod.keep_in_s3(fresh_moto)
    prod.incident(NOW - timedelta(days=10), 45)  # manual, above 30 min

    code, out, err = run("metrics", "--env", "prod", "--format", "json")

    assert not prod.audit.exists()
    assert code == 1
    assert json.loads(out)["rollbacks"]["count"] == 1  # stdout holds the report only
    assert err.count(f"ohpen: environment prod: account {ACCOUNT} verified") == 1
    assert err.endswith(
        "ohpen: targets breached: rollbacks per quarter, manual rollback duration (median)\n"
    )


def test_reading_the_bucket_and_publishing_pass_the_account_guard_once(
    prod: Prod, fresh_moto: str, run: Run
) -> None:
    prod.keep_in_s3(fresh_moto)
    prod.incident(NOW - timedelta(days=10), 4, trigger=True)

    code, _, err = run("metrics", "--env", "prod", "--publish")

    assert code == 1  # a rollback in the quarter
    assert err.count(f"ohpen: environment prod: account {ACCOUNT} verified") == 1
    assert "ohpen: published 4 datapoints to Ohpen/Rollback (Environment=prod)" in err


# ---------------------------------------------------------------- --publish


@pytest.fixture
def published(fresh_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Prod:
    """[prod] as a non-emulated account at the moto server; now is the real time, since
    CloudWatch keeps datapoints by their timestamp."""
    monkeypatch.chdir(tmp_path)
    now = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setattr(cli_metrics, "_now", lambda: now)
    prod = Prod(tmp_path, fresh_moto)
    prod.incident(now - timedelta(days=5), 4, trigger=True)  # automated 4 min
    prod.incident(now - timedelta(days=4), 8, trigger=True)  # automated 8 min
    prod.incident(now - timedelta(days=3), 20, verification="smoke tests failed (exit code 1)")
    prod.incident(now - timedelta(days=2), 1, mode="dry-run")
    return prod


def statistic(cloudwatch: Any, name: str, **dimensions: str) -> float:
    now = datetime.now(UTC)
    found = cloudwatch.get_metric_statistics(
        Namespace="Ohpen/Rollback",
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert len(found) == 1, (name, found)
    return float(found[0]["Maximum"])


def test_publish_puts_the_metrics_to_cloudwatch(published: Prod, fresh_moto: str, run: Run) -> None:
    code, out, err = run("metrics", "--env", "prod", "--publish", "--format", "json")

    assert code == 1  # three rollbacks in the quarter
    assert json.loads(out)["rollbacks"]["count"] == 3  # stdout holds the report only
    assert f"ohpen: environment prod: account {ACCOUNT} verified" in err
    # the manual rollback's smoke tests failed: not restored, so no manual median to send
    assert "ohpen: published 4 datapoints to Ohpen/Rollback (Environment=prod)" in err

    cloudwatch = boto3.client("cloudwatch", endpoint_url=fresh_moto, region_name=REGION)
    listed = cloudwatch.list_metrics(Namespace="Ohpen/Rollback")["Metrics"]
    assert sorted(
        (m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
        for m in listed
    ) == [
        ("FirstAttemptSuccessRate", (("Environment", "prod"),)),
        ("MTTRSeconds", (("Environment", "prod"),)),
        ("RollbackCount", (("Environment", "prod"),)),
        ("RollbackDurationMedianSeconds", (("Environment", "prod"), ("Mode", "Automated"))),
    ]
    assert statistic(cloudwatch, "RollbackCount", Environment="prod") == 3
    # automated 4 and 8 min: median 6 min
    assert (
        statistic(cloudwatch, "RollbackDurationMedianSeconds", Environment="prod", Mode="Automated")
        == 360
    )
    # 2 of 3 succeeded first time; MTTR over those two: (4 + 8) / 2 min
    assert statistic(cloudwatch, "FirstAttemptSuccessRate", Environment="prod") == pytest.approx(
        200 / 3
    )
    assert statistic(cloudwatch, "MTTRSeconds", Environment="prod") == 360


def test_publish_to_the_wrong_account_is_refused_before_any_put(
    published: Prod, fresh_moto: str, run: Run
) -> None:
    (published.root / "environments.toml").write_text(
        toml(fresh_moto, published.audit, account="999999999999")
    )

    code, _, err = run("metrics", "--env", "prod", "--publish")

    assert code == 2
    assert err.splitlines()[-1].startswith("ohpen: error: ")
    assert "999999999999" in err
    cloudwatch = boto3.client("cloudwatch", endpoint_url=fresh_moto, region_name=REGION)
    assert cloudwatch.list_metrics(Namespace="Ohpen/Rollback")["Metrics"] == []
