"""The audit store writes each record once to a local directory and reads the history back.

A rollback is justified by these records, so a second write under an existing id must fail
loudly and leave the first record exactly as it was, a reader must never see a half-written
record, and malformed records are skipped with a warning. No AWS: the S3 side is
tests/aws/test_audit_s3.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import AUDIT_START, AuditClock, audit_environment, files_under

from pytest_ohpen.config.environments import Audit
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


def test_write_then_read_back_locally(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "audit", clock=AuditClock())
    written = store.write("known_good", "prod", {"sha": "0cb4182", "when": AUDIT_START})

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
    assert written.recorded_at == AUDIT_START


def test_record_round_trips_through_json() -> None:
    record = AuditRecord("r1", "incident", "prod", AUDIT_START, {"a": [1, "b"]})
    assert AuditRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_record_times_are_normalised_to_utc(tmp_path: Path) -> None:
    amsterdam = timezone(timedelta(hours=1))
    store = AuditStore(tmp_path, clock=lambda: datetime(2026, 11, 26, 11, 37, 12, tzinfo=amsterdam))
    record = store.write("incident", "prod", {})
    assert record.recorded_at == AUDIT_START
    assert record.recorded_at.utcoffset() == timedelta(0)
    assert record.id.startswith("20261126T103712Z-incident-")


def test_second_local_write_with_the_same_id_conflicts(tmp_path: Path) -> None:
    store = AuditStore(tmp_path, clock=AuditClock())
    first = store.write("rollback_trigger", "prod", {"reason": "first"}, record_id="rb-1")
    path = tmp_path / "prod" / "rollback_trigger" / "rb-1.json"
    before = path.read_bytes()

    with pytest.raises(AuditConflict, match=r"rb-1\.json already exists; .*never overwritten"):
        store.write("rollback_trigger", "prod", {"reason": "second"}, record_id="rb-1")

    assert path.read_bytes() == before
    assert store.records() == [first]
    assert list(files_under(tmp_path)) == [path]


def test_conflict_is_an_ohpen_error() -> None:
    assert issubclass(AuditConflict, OhpenError)
    assert issubclass(AuditWriteError, OhpenError)


def test_no_temp_files_are_left_behind(tmp_path: Path) -> None:
    store = AuditStore(tmp_path, clock=AuditClock())
    records = [store.write("incident", "prod", {"n": n}) for n in range(3)]
    with pytest.raises(AuditConflict):
        store.write("incident", "prod", {"n": 9}, record_id=records[0].id)

    names = sorted(path.name for path in files_under(tmp_path))
    assert names == sorted(f"{record.id}.json" for record in records)


def test_malformed_records_are_skipped_with_a_warning(tmp_path: Path) -> None:
    store = AuditStore(tmp_path, clock=AuditClock())
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


def test_open_store_without_a_bucket_never_makes_an_s3_client(tmp_path: Path) -> None:
    def no_client() -> Any:
        raise AssertionError("an S3 client was made for an environment without an audit bucket")

    store = open_store(audit_environment(Audit(tmp_path / "audit")), no_client)
    written = store.write("incident", "prod", {"outcome": "applied"})

    assert [p.relative_to(tmp_path) for p in files_under(tmp_path)] == [
        Path("audit") / "prod" / "incident" / f"{written.id}.json"
    ]
    assert store.records() == [written]
