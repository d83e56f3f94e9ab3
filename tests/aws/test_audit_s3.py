"""The audit store writes each record once to S3 as well, and reads the merged history back.

A second write under an existing id from another machine must be refused by S3 itself
(If-None-Match) and leave the first record as it was; an S3 failure keeps the local record;
no credential may reach a record on disk or in S3. The local-only behaviour is
tests/unit/test_audit_local.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import AUDIT_START, AuditClock, audit_environment, files_under

from pytest_ohpen.config.environments import Audit
from pytest_ohpen.records.store import (
    AuditConflict,
    AuditStore,
    AuditWarning,
    AuditWriteError,
    open_store,
)

BUCKET = "ohpen-audit"
PREFIX = "audit/v1"
FAKE_KEY_ID = "AKIAFAKEOHPENTEST0001"
FAKE_SECRET = "fake-secret-ohpen-test-do-not-leak"


@pytest.fixture
def s3(fresh_moto: str) -> Any:
    """An S3 client on the test's moto server, holding the empty audit bucket."""
    client = boto3.client("s3", endpoint_url=fresh_moto, region_name="eu-west-1")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return client


def s3_keys(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def s3_body(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def test_write_then_read_back_locally_and_in_s3(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path / "audit", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=AuditClock())
    written = store.write("readiness_report", "prod", {"failed": ["ohpen-bronze"]})

    key = f"{PREFIX}/prod/readiness_report/{written.id}.json"
    assert s3_keys(s3) == [key]
    local = tmp_path / "audit" / "prod" / "readiness_report" / f"{written.id}.json"
    assert s3_body(s3, key) == local.read_bytes()
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentType"] == "application/json"

    from_s3_only = AuditStore(tmp_path / "elsewhere", s3=s3, bucket=BUCKET, prefix=PREFIX)
    assert from_s3_only.records() == [written]
    assert store.records() == [written]


def test_empty_prefix_has_no_leading_slash(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path, s3=s3, bucket=BUCKET)
    record = store.write("incident", "dev", {}, record_id="i-1")
    assert s3_keys(s3) == ["dev/incident/i-1.json"]
    assert AuditStore(tmp_path / "other", s3=s3, bucket=BUCKET).records() == [record]


def test_second_s3_write_with_the_same_id_conflicts(tmp_path: Path, s3: Any) -> None:
    first_store = AuditStore(
        tmp_path / "a", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=AuditClock()
    )
    first = first_store.write("known_good", "prod", {"sha": "first"}, record_id="kg-1")
    key = f"{PREFIX}/prod/known_good/kg-1.json"
    before = s3_body(s3, key)

    # Another machine's store: nothing local, so only S3's If-None-Match can refuse it.
    second_store = AuditStore(
        tmp_path / "b", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=AuditClock()
    )
    with pytest.raises(AuditConflict) as conflict:
        second_store.write("known_good", "prod", {"sha": "second"}, record_id="kg-1")

    assert f"s3://{BUCKET}/{key} already exists" in str(conflict.value)
    assert "never overwritten" in str(conflict.value)
    assert "\n" not in str(conflict.value)
    assert s3_body(s3, key) == before
    assert s3_keys(s3) == [key]
    # The second store's local copy is removed again: it never holds a rival record.
    assert list(files_under(tmp_path / "b")) == []
    assert second_store.records() == [first]


def test_s3_failure_keeps_the_local_record_and_says_so(tmp_path: Path, fresh_moto: str) -> None:
    client = boto3.client("s3", endpoint_url=fresh_moto, region_name="eu-west-1")
    store = AuditStore(tmp_path, s3=client, bucket="no-such-bucket", clock=AuditClock())
    with pytest.raises(AuditWriteError) as failure:
        store.write("incident", "prod", {"n": 1}, record_id="inc-1")

    message = str(failure.value)
    assert "\n" not in message
    assert "NoSuchBucket" in message
    assert "the local record stays" in message
    assert (tmp_path / "prod" / "incident" / "inc-1.json").is_file()


def test_records_merge_local_and_s3_newest_first(tmp_path: Path, s3: Any) -> None:
    clock = AuditClock()
    here = AuditStore(tmp_path / "here", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=clock)
    there = AuditStore(tmp_path / "there", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=clock)
    local_only = AuditStore(tmp_path / "here", clock=clock)

    oldest = here.write("known_good", "prod", {"sha": "a"})
    middle = there.write("known_good", "prod", {"sha": "b"})
    newest = local_only.write("incident", "prod", {"what": "c"})
    # Same time, different ids: the id breaks the tie, still newest first.
    tie_clock = AuditClock(AUDIT_START + timedelta(hours=1))
    tied_a = AuditStore(tmp_path / "here", clock=tie_clock).write(
        "incident", "dev", {}, record_id="t-a"
    )
    tied_b = AuditStore(
        tmp_path / "there", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=lambda: tied_a.recorded_at
    ).write("incident", "dev", {}, record_id="t-b")

    assert here.records() == [tied_b, tied_a, newest, middle, oldest]
    assert here.records(kind="known_good") == [middle, oldest]
    assert here.records(environment="dev") == [tied_b, tied_a]
    assert here.records(kind="incident", environment="prod") == [newest]
    assert there.records() == [tied_b, middle, oldest]


def test_known_good_filters_by_kind_and_environment(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path, s3=s3, bucket=BUCKET, prefix=PREFIX, clock=AuditClock())
    first = store.write("known_good", "prod", {"sha": "a"})
    store.write("known_good", "dev", {"sha": "b"})
    store.write("readiness_report", "prod", {"sha": "c"})
    second = store.write("known_good", "prod", {"sha": "d"})

    assert store.known_good("prod") == [second, first]
    assert AuditStore(tmp_path / "none", s3=s3, bucket=BUCKET, prefix=PREFIX).known_good(
        "prod"
    ) == [second, first]
    assert store.known_good("staging") == []


def test_malformed_s3_record_is_skipped_with_a_warning(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path, s3=s3, bucket=BUCKET, prefix=PREFIX, clock=AuditClock())
    good = store.write("known_good", "prod", {"sha": "a"})
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/prod/known_good/bad.json", Body=b"{")

    with pytest.warns(AuditWarning, match=f"s3://{BUCKET}/{PREFIX}/prod/known_good/bad.json"):
        assert store.known_good("prod") == [good]


def test_credentials_never_reach_disk_or_s3(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path / "audit", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=AuditClock())
    record = store.write(
        "incident",
        "prod",
        {
            "caller": f"credentials {FAKE_KEY_ID} / {FAKE_SECRET}",
            "environ": {"AWS_SECRET_ACCESS_KEY": FAKE_SECRET, "AWS_ACCESS_KEY_ID": FAKE_KEY_ID},
            "log": [f"aws_secret_access_key={FAKE_SECRET}", (FAKE_KEY_ID,)],
            "url": f"https://x/?X-Amz-Credential={FAKE_KEY_ID}%2F20261126",
            FAKE_KEY_ID: "a key used as a key",
        },
    )

    assert FAKE_SECRET not in json.dumps(record.to_json())
    written = list(files_under(tmp_path))
    assert written
    for path in written:
        raw = path.read_bytes()
        assert FAKE_KEY_ID.encode() not in raw, path
        assert FAKE_SECRET.encode() not in raw, path
    [key] = s3_keys(s3)
    body = s3_body(s3, key)
    assert FAKE_KEY_ID.encode() not in body
    assert FAKE_SECRET.encode() not in body
    assert b"[REDACTED]" in body


def test_open_store_with_a_bucket_keeps_records_under_its_prefix(tmp_path: Path, s3: Any) -> None:
    made: list[Any] = []

    def client() -> Any:
        made.append(s3)
        return s3

    env = audit_environment(Audit(tmp_path / "audit", bucket=BUCKET, prefix=PREFIX))
    written = open_store(env, client).write("incident", "prod", {"outcome": "applied"})

    assert len(made) == 1
    assert s3_keys(s3) == [f"{PREFIX}/prod/incident/{written.id}.json"]
    elsewhere = audit_environment(Audit(tmp_path / "elsewhere", bucket=BUCKET, prefix=PREFIX))
    assert open_store(elsewhere, lambda: s3).records() == [written]
