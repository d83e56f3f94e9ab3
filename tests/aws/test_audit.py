"""The audit store writes each record once, locally and to S3, and reads the history back.

A rollback is justified by these records, so a second write under an existing id must fail
loudly and leave the first record exactly as it was, a reader must never see a half-written
record, and no credential may reach a record on disk or in S3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ohpen.config.environments import Audit, Environment
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.records.store import (
    SCHEMA_VERSION,
    AuditConflict,
    AuditRecord,
    AuditStore,
    AuditWarning,
    AuditWriteError,
    open_store,
)

BUCKET = "ohpen-audit"
PREFIX = "audit/v1"
FAKE_KEY_ID = "AKIAFAKEOHPENTEST0001"
FAKE_SECRET = "fake-secret-ohpen-test-do-not-leak"
START = datetime(2026, 11, 26, 10, 37, 12, tzinfo=UTC)


class Clock:
    """A clock that advances one minute per reading, so records have distinct times."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(minutes=1)
        return now


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


def files_under(directory: Path) -> Iterator[Path]:
    return (path for path in directory.rglob("*") if path.is_file())


def test_write_then_read_back_locally(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit", clock=Clock())
    written = store.write("known_good", "prod", {"sha": "0cb4182", "when": START})

    assert written.id.startswith("20261126T103712Z-known_good-")
    assert len(written.id.rsplit("-", 1)[1]) == 8
    path = tmp_path / "audit" / "prod" / "known_good" / f"{written.id}.json"
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "schema_version": SCHEMA_VERSION,
        "id": written.id,
        "kind": "known_good",
        "environment": "prod",
        "recorded_at": "2026-11-26T10:37:12Z",
        "data": {"sha": "0cb4182", "when": "2026-11-26T10:37:12Z"},
    }
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert store.records() == [written]
    assert written.recorded_at == START


def test_record_round_trips_through_json() -> None:
    record = AuditRecord("r1", "incident", "prod", START, {"a": [1, "b"]})
    assert AuditRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_record_times_are_normalised_to_utc(tmp_path: Path) -> None:
    amsterdam = timezone(timedelta(hours=1))
    store = AuditStore(tmp_path, clock=lambda: datetime(2026, 11, 26, 11, 37, 12, tzinfo=amsterdam))
    record = store.write("incident", "prod", {})
    assert record.recorded_at == START
    assert record.recorded_at.utcoffset() == timedelta(0)
    assert record.id.startswith("20261126T103712Z-incident-")


def test_write_then_read_back_locally_and_in_s3(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path / "audit", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=Clock())
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


def test_second_local_write_with_the_same_id_conflicts(tmp_path: Path) -> None:
    store = AuditStore(tmp_path, clock=Clock())
    first = store.write("rollback_trigger", "prod", {"reason": "first"}, record_id="rb-1")
    path = tmp_path / "prod" / "rollback_trigger" / "rb-1.json"
    before = path.read_bytes()

    with pytest.raises(AuditConflict, match=r"rb-1\.json already exists; .*never overwritten"):
        store.write("rollback_trigger", "prod", {"reason": "second"}, record_id="rb-1")

    assert path.read_bytes() == before
    assert store.records() == [first]
    assert list(files_under(tmp_path)) == [path]


def test_second_s3_write_with_the_same_id_conflicts(tmp_path: Path, s3: Any) -> None:
    first_store = AuditStore(tmp_path / "a", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=Clock())
    first = first_store.write("known_good", "prod", {"sha": "first"}, record_id="kg-1")
    key = f"{PREFIX}/prod/known_good/kg-1.json"
    before = s3_body(s3, key)

    # Another machine's store: nothing local, so only S3's If-None-Match can refuse it.
    second_store = AuditStore(tmp_path / "b", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=Clock())
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


def test_conflict_is_an_ohpen_error() -> None:
    assert issubclass(AuditConflict, OhpenError)
    assert issubclass(AuditWriteError, OhpenError)


def test_no_temp_files_are_left_behind(tmp_path: Path) -> None:
    store = AuditStore(tmp_path, clock=Clock())
    records = [store.write("incident", "prod", {"n": n}) for n in range(3)]
    with pytest.raises(AuditConflict):
        store.write("incident", "prod", {"n": 9}, record_id=records[0].id)

    names = sorted(path.name for path in files_under(tmp_path))
    assert names == sorted(f"{record.id}.json" for record in records)


def test_s3_failure_keeps_the_local_record_and_says_so(tmp_path: Path, fresh_moto: str) -> None:
    client = boto3.client("s3", endpoint_url=fresh_moto, region_name="eu-west-1")
    store = AuditStore(tmp_path, s3=client, bucket="no-such-bucket", clock=Clock())
    with pytest.raises(AuditWriteError) as failure:
        store.write("incident", "prod", {"n": 1}, record_id="inc-1")

    message = str(failure.value)
    assert "\n" not in message
    assert "NoSuchBucket" in message
    assert "the local record stays" in message
    assert (tmp_path / "prod" / "incident" / "inc-1.json").is_file()


def test_records_merge_local_and_s3_newest_first(tmp_path: Path, s3: Any) -> None:
    clock = Clock()
    here = AuditStore(tmp_path / "here", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=clock)
    there = AuditStore(tmp_path / "there", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=clock)
    local_only = AuditStore(tmp_path / "here", clock=clock)

    oldest = here.write("known_good", "prod", {"sha": "a"})
    middle = there.write("known_good", "prod", {"sha": "b"})
    newest = local_only.write("incident", "prod", {"what": "c"})
    # Same time, different ids: the id breaks the tie, still newest first.
    tie_clock = Clock(START + timedelta(hours=1))
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
    store = AuditStore(tmp_path, s3=s3, bucket=BUCKET, prefix=PREFIX, clock=Clock())
    first = store.write("known_good", "prod", {"sha": "a"})
    store.write("known_good", "dev", {"sha": "b"})
    store.write("readiness_report", "prod", {"sha": "c"})
    second = store.write("known_good", "prod", {"sha": "d"})

    assert store.known_good("prod") == [second, first]
    assert AuditStore(tmp_path / "none", s3=s3, bucket=BUCKET, prefix=PREFIX).known_good(
        "prod"
    ) == [second, first]
    assert store.known_good("staging") == []


def test_malformed_records_are_skipped_with_a_warning(tmp_path: Path) -> None:
    store = AuditStore(tmp_path, clock=Clock())
    good = store.write("known_good", "prod", {"sha": "a"})
    folder = tmp_path / "prod" / "known_good"
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / "list.json").write_text("[]", encoding="utf-8")
    moved = good.to_json() | {"id": "elsewhere"}
    (folder / "misplaced.json").write_text(json.dumps(moved), encoding="utf-8")
    future = good.to_json() | {"id": "future", "schema_version": SCHEMA_VERSION + 1}
    (folder / "future.json").write_text(json.dumps(future), encoding="utf-8")

    with pytest.warns(AuditWarning) as caught:
        assert store.known_good("prod") == [good]

    messages = sorted(str(warning.message) for warning in caught)
    assert len(messages) == 4
    assert all(message.startswith("skipping unreadable audit record ") for message in messages)
    for name in ("broken.json", "list.json", "misplaced.json", "future.json"):
        assert any(str(folder / name) in message for message in messages)


def test_malformed_s3_record_is_skipped_with_a_warning(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path, s3=s3, bucket=BUCKET, prefix=PREFIX, clock=Clock())
    good = store.write("known_good", "prod", {"sha": "a"})
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/prod/known_good/bad.json", Body=b"{")

    with pytest.warns(AuditWarning, match=f"s3://{BUCKET}/{PREFIX}/prod/known_good/bad.json"):
        assert store.known_good("prod") == [good]


def test_invalid_names_are_refused(tmp_path: Path) -> None:
    store = AuditStore(tmp_path)
    for kind, environment, record_id in [
        ("../x", "prod", None),
        ("incident", "pr/od", None),
        ("incident", "prod", ".hidden"),
    ]:
        with pytest.raises(ValueError, match="cannot be part of a record's path"):
            store.write(kind, environment, {}, record_id=record_id)
    assert list(files_under(tmp_path)) == []


def test_credentials_never_reach_disk_or_s3(tmp_path: Path, s3: Any) -> None:
    store = AuditStore(tmp_path / "audit", s3=s3, bucket=BUCKET, prefix=PREFIX, clock=Clock())
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


# ---------------------------------------------------------------- open_store


def environment(audit: Audit) -> Environment:
    return Environment(
        name="prod",
        source=Path("environments.toml"),
        account_id="123456789012",
        region="eu-west-1",
        audit=audit,
    )


def test_open_store_without_a_bucket_never_makes_an_s3_client(tmp_path: Path) -> None:
    def no_client() -> Any:
        raise AssertionError("an S3 client was made for an environment without an audit bucket")

    store = open_store(environment(Audit(tmp_path / "audit")), no_client)
    written = store.write("incident", "prod", {"outcome": "applied"})

    assert [p.relative_to(tmp_path) for p in files_under(tmp_path)] == [
        Path("audit") / "prod" / "incident" / f"{written.id}.json"
    ]
    assert store.records() == [written]


def test_open_store_with_a_bucket_keeps_records_under_its_prefix(tmp_path: Path, s3: Any) -> None:
    made: list[Any] = []

    def client() -> Any:
        made.append(s3)
        return s3

    env = environment(Audit(tmp_path / "audit", bucket=BUCKET, prefix=PREFIX))
    written = open_store(env, client).write("incident", "prod", {"outcome": "applied"})

    assert len(made) == 1
    assert s3_keys(s3) == [f"{PREFIX}/prod/incident/{written.id}.json"]
    elsewhere = environment(Audit(tmp_path / "elsewhere", bucket=BUCKET, prefix=PREFIX))
    assert open_store(elsewhere, lambda: s3).records() == [written]
