"""Resource names by each service's rules: a name AWS would refuse is a typo in the file,
refused in one line naming the file, the table and the key (not checked, then reported as
an unhealthy deployment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ohpen.config import names
from pytest_ohpen.config.environments import load_environment
from pytest_ohpen.errors import ConfigError

VALID = '[prod]\naccount_id = "123456789012"\nregion = "eu-west-1"\n'

BAD_BUCKETS = [
    "ohpen..bronze",
    "192.168.5.4",
    "xn--ohpen",
    "ohpen-s3alias",
    "ohpen--ol-s3",
    "ohpen.-bronze",
    "ohpen-.bronze",
    "sthree-ohpen",
    "amzn-s3-demo-ohpen",
    "ohpen.mrap",
    "ohpen--x-s3",
    "ohpen--table-s3",
    "ab",
    "a" * 64,
    "Ohpen-Bronze",
    "ohpen_bronze",
    "-ohpen",
    "ohpen-",
    ".ohpen",
]


def refusal(tmp_path: Path, body: str) -> str:
    path = tmp_path / "environments.toml"
    path.write_text(VALID + body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_environment(path, "prod", "--env 'prod' (command line)")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


@pytest.mark.parametrize("bucket", BAD_BUCKETS)
def test_each_bucket_name_s3_refuses_is_refused(tmp_path: Path, bucket: str) -> None:
    message = refusal(tmp_path, f'[prod.resources]\nbuckets = ["ohpen-silver", "{bucket}"]\n')
    assert message.startswith(f"{tmp_path / 'environments.toml'}: [prod.resources] buckets: ")
    assert f"{bucket!r} is not a valid S3 bucket name: " in message


@pytest.mark.parametrize(
    "bucket", ["ohpen-bronze", "ohpen.bronze.eu", "abc", "a" * 63, "1-ohpen", "192.168.5.x4"]
)
def test_bucket_names_s3_accepts_load(tmp_path: Path, bucket: str) -> None:
    path = tmp_path / "environments.toml"
    path.write_text(VALID + f'[prod.resources]\nbuckets = ["{bucket}"]\n')
    assert load_environment(path, "prod", "--env").resources.buckets == (bucket,)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('[prod.terraform]\nstate_bucket = "ohpen..state"\nstate_key = "k"\n', "state_bucket"),
        ('[prod.audit]\nbucket = "xn--audit"\n', "[prod.audit] bucket"),
        ('[prod.data.silver]\nbucket = "ohpen-s3alias"\n', "silver: bucket"),
    ],
)
def test_every_bucket_key_takes_s3s_rules(tmp_path: Path, body: str, named: str) -> None:
    message = refusal(tmp_path, body)
    assert named in message and "is not a valid S3 bucket name" in message


@pytest.mark.parametrize(
    ("key", "name", "why"),
    [
        ("glue_jobs", "x" * 256, "1 to 255 characters"),
        ("glue_jobs", "etl\njob", "control character"),
        ("lambdas", "read-run:summary", "letters, digits"),
        ("lambdas", "f" * 65, "1 to 64 characters"),
        ("state_machines", "etl orchestration", "whitespace"),
        ("state_machines", "etl/orchestration", "'/'"),
        ("state_machines", "etl$", "'$'"),
        ("state_machines", "m" * 81, "1 to 80 characters"),
        ("alarms", "alarm\u0007", "control character"),
        ("alarms", "a" * 256, "1 to 255 characters"),
        ("roles", "etl role", "letters, digits and +=,.@_-"),
        ("roles", "r" * 65, "1 to 64 characters"),
    ],
)
def test_other_names_take_their_services_rules(
    tmp_path: Path, key: str, name: str, why: str
) -> None:
    quoted = name.replace("\n", "\\n").replace("\u0007", "\\u0007")
    message = refusal(tmp_path, f'[prod.resources]\n{key} = ["{quoted}"]\n')
    assert f"[prod.resources] {key}: " in message
    assert why in message


def test_sns_topic_and_lock_table_names(tmp_path: Path) -> None:
    assert "SNS topic" in refusal(tmp_path, '[prod.resources]\nfailure_topic = "etl failures"\n')
    assert names.sns_topic("ohpen-etl-failures.fifo") is None
    assert names.sns_topic("ohpen.etl") is not None
    message = refusal(
        tmp_path,
        '[prod.terraform]\nstate_bucket = "ohpen-state"\nstate_key = "k"\nlock_table = "x"\n',
    )
    assert "[prod.terraform] lock_table: 'x' is not a valid DynamoDB table name" in message


def test_names_the_services_accept() -> None:
    """The shipped playbook names, and the edge of each rule, pass."""
    assert names.glue_job("ohpen-transaction-etl-spark") is None
    assert names.glue_job("job with\ttab and spaces") is None
    assert names.lambda_function("ohpen_read-run-summary") is None
    assert names.state_machine("ohpen-etl-orchestration.v2") is None
    assert names.cloudwatch_alarm("ohpen etl: glue job failed!") is None
    assert names.iam_role("ohpen+etl=role,x.y@z-1_2") is None
