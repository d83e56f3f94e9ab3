"""``ohpen incident annotate``: completing an incident with an append-only annotation
record; the incident record itself is never rewritten, ``show`` and ``list`` merge the
annotations, and the annotation goes to every place the environment keeps records (S3:
the test's moto server as a non-emulated account, after the account guard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen import cli
from pytest_ohpen.records.identity import CI_VARIABLES
from pytest_ohpen.records.store import AuditRecord, AuditStore
from pytest_ohpen.rollback.incident import ANNOTATION_KIND, KIND, incident_data

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = "ohpen-audit"
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def actor(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")


def environments(root: Path, endpoint: str, bucket: str | None = None) -> None:
    text = (
        f'[prod]\naccount_id = "{ACCOUNT}"\nregion = "{REGION}"\n'
        f'endpoint_url = "{endpoint}"\ntimeout = 10\n'
        f'[prod.audit]\ndirectory = "{root / "audit"}"\n'
    )
    if bucket:
        text += f'bucket = "{bucket}"\nprefix = "audit"\n'
    (root / "environments.toml").write_text(text)


def incident(store: AuditStore) -> AuditRecord:
    return store.write(
        KIND,
        "prod",
        incident_data(
            reason="ETL duration 10x after deploy",
            deployment_sha="abc1234",
            restored_sha="def5678",
            restored_state_version=None,
            operator={"aws_caller": f"arn:aws:iam::{ACCOUNT}:user/ops", "approved_by": "lead"},
            started_at="2024-09-12T08:30:00Z",
            finished_at="2024-09-12T08:36:00Z",
            mode="apply",
            outcome="applied",
            verification="smoke tests passed",
        ),
    )


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditRecord:
    """[prod] with a local audit directory only (nothing listens at the endpoint: no AWS call)."""
    monkeypatch.chdir(tmp_path)
    environments(tmp_path, NOWHERE)
    return incident(AuditStore(tmp_path / "audit"))


def field(markdown: str, name: str) -> str:
    prefix = f"**{name}**: "
    return next(line[len(prefix) :] for line in markdown.splitlines() if line.startswith(prefix))


def test_annotate_completes_the_incident_in_show_and_list(
    local: AuditRecord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_file = next((tmp_path / "audit").rglob(f"{local.id}.json"))
    before = incident_file.read_bytes()

    code, out, err = ohpen(
        capsys, "incident", "annotate", local.id, "--env", "prod", "--root-cause", "bad join"
    )
    assert (code, err) == (0, ""), err
    assert out.startswith("annotation ")
    code, listed, _ = ohpen(capsys, "incident", "list", "--env", "prod")
    assert listed.rstrip().endswith("incomplete: prevention missing")
    assert ohpen(
        capsys, "incident", "annotate", local.id, "--env", "prod",
        "--root-cause", "Glue job v2 joined on a non-unique key", "--prevention", "row-count check",
    )[0] == 0  # fmt: skip

    code, shown, err = ohpen(capsys, "incident", "show", local.id, "--env", "prod")

    assert code == 0, err
    assert field(shown, "Root cause") == "Glue job v2 joined on a non-unique key"
    assert field(shown, "Prevention") == "row-count check"
    assert field(shown, "Approved by") == "lead"
    notes = [line for line in shown.splitlines() if line.startswith("- 20") and " by " in line]
    assert len(notes) == 2 and all(" by octocat " in line for line in notes)
    assert ohpen(capsys, "incident", "list", "--env", "prod")[1].rstrip().endswith("  complete")
    assert incident_file.read_bytes() == before  # the incident record is never rewritten
    assert (tmp_path / "incidents" / f"{local.id}.md").read_text() == shown
    stored = AuditStore(tmp_path / "audit").records(kind=ANNOTATION_KIND)
    assert [r.data["incident_id"] for r in stored] == [local.id, local.id]
    assert stored[0].data["operator"]["GITHUB_ACTOR"] == "octocat"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((), "give --root-cause TEXT, --prevention TEXT or both"),
        (("--root-cause", "  "), "--root-cause is blank: give the text to record"),
        (
            ("--prevention", "a\nb"),
            "--prevention must be one line: put the details in a linked document",
        ),
    ],
)
def test_bad_text_is_refused_with_one_line_and_exit_2(
    local: AuditRecord,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    message: str,
) -> None:
    code, out, err = ohpen(capsys, "incident", "annotate", local.id, "--env", "prod", *options)

    assert (code, out, err) == (2, "", f"ohpen incident annotate: {message}\n")
    assert AuditStore(tmp_path / "audit").records(kind=ANNOTATION_KIND) == []


def test_an_unknown_incident_is_one_line_exit_1_and_nothing_recorded(
    local: AuditRecord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = ohpen(
        capsys, "incident", "annotate", "nope", "--env", "prod", "--prevention", "x"
    )

    assert (code, out) == (1, "")
    assert err == "ohpen: no incident 'nope' for environment 'prod' (see ohpen incident list)\n"
    assert AuditStore(tmp_path / "audit").records(kind=ANNOTATION_KIND) == []


def test_the_annotation_is_kept_in_s3_too(
    fresh_moto: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With an audit bucket the annotation is written there as well (another machine's
    ``show`` sees it), naming the AWS caller the account guard verified."""
    monkeypatch.chdir(tmp_path)
    environments(tmp_path, fresh_moto, bucket=BUCKET)
    s3: Any = boto3.client("s3", endpoint_url=fresh_moto, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    record = incident(AuditStore(tmp_path / "audit", s3=s3, bucket=BUCKET, prefix="audit"))

    code, _, err = ohpen(
        capsys, "incident", "annotate", record.id, "--env", "prod", "--prevention", "canary"
    )

    assert code == 0, err
    elsewhere = AuditStore(tmp_path / "another-machine", s3=s3, bucket=BUCKET, prefix="audit")
    (note,) = elsewhere.records(kind=ANNOTATION_KIND)
    assert note.data["incident_id"] == record.id
    assert note.data["operator"]["aws_caller"].startswith("arn:aws:")
