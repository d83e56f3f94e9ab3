"""The append-only audit store: known-good deployments, readiness reports, rollback triggers.

A rollback decision must be explainable afterwards, so every record is written once and
never rewritten: locally through a hard link (atomic and exclusive: a record is either
absent or complete, and an existing one is never replaced) and, when a bucket is given,
to S3 with ``If-None-Match: *`` (S3 refuses to replace an existing key). Data passes
through :func:`pytest_ohpen.records.redact.redact` first, so no credential is ever stored.

Layout, locally and under the S3 prefix: ``<environment>/<kind>/<id>.json``.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.aws.errors import error_code, lost_condition
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.records.redact import redact
from pytest_ohpen.util.files import write_new
from pytest_ohpen.util.jsonable import iso_utc, jsonable

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment

SCHEMA_VERSION = 1
"""The version of a record's JSON layout; a record from a newer plugin is not read."""
KNOWN_GOOD = "known_good"
"""The kind of a record naming a deployment that passed its checks (a rollback target)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""Environment, kind and id are path components: no separators, no leading dot."""


class AuditConflict(OhpenError):
    """A record with that id already exists; records are never overwritten."""


class AuditWriteError(OhpenError):
    """A record could not be stored (the local file, or its copy in S3)."""


class AuditReadError(OhpenError):
    """The S3 records could not be listed, so the history would be incomplete."""


class AuditWarning(UserWarning):
    """A stored record was skipped because it cannot be read."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_name(what: str, name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(
            f"audit {what} {name!r} cannot be part of a record's path: use letters, "
            "digits, '.', '_' and '-', starting with a letter or digit"
        )


@dataclass(frozen=True)
class AuditRecord:
    """One stored record; ``recorded_at`` is timezone-aware and normalised to UTC."""

    id: str
    kind: str
    environment: str
    recorded_at: datetime
    data: dict[str, Any]

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None:
            raise ValueError(f"audit record {self.id}: recorded_at must be timezone-aware")
        object.__setattr__(self, "recorded_at", self.recorded_at.astimezone(UTC))

    def to_json(self) -> dict[str, Any]:
        """The record as stored, with its ``schema_version``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "kind": self.kind,
            "environment": self.environment,
            "recorded_at": iso_utc(self.recorded_at),
            "data": self.data,
        }

    @classmethod
    def from_json(cls, obj: Any) -> AuditRecord:
        """A record read back; ValueError names the first thing wrong with ``obj``."""
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
        version = obj.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"schema_version: expected a positive integer, got {version!r}")
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {version} is newer than this plugin's {SCHEMA_VERSION}; "
                "upgrade pytest-ohpen to read it"
            )
        for key in ("id", "kind", "environment", "recorded_at"):
            if not isinstance(obj.get(key), str) or not obj[key]:
                raise ValueError(f"{key}: expected a non-empty string, got {obj.get(key)!r}")
        if not isinstance(obj.get("data"), dict):
            raise ValueError(f"data: expected a JSON object, got {obj.get('data')!r}")
        try:
            recorded_at = datetime.fromisoformat(obj["recorded_at"])
        except ValueError:
            raise ValueError(f"recorded_at: not ISO 8601: {obj['recorded_at']!r}") from None
        if recorded_at.tzinfo is None:
            raise ValueError(f"recorded_at: no timezone: {obj['recorded_at']!r}")
        return cls(
            id=obj["id"],
            kind=obj["kind"],
            environment=obj["environment"],
            recorded_at=recorded_at,
            data=obj["data"],
        )


def _encode(record: AuditRecord) -> bytes:
    text = json.dumps(record.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _newest_first(record: AuditRecord) -> tuple[datetime, str]:
    return (record.recorded_at, record.id)


class AuditStore:
    """Audit records in ``directory`` and, when ``s3`` and ``bucket`` are given, in S3.

    ``s3`` is a boto3 S3 client; ``prefix`` is the key prefix in the bucket (slashes at
    its ends are ignored); ``clock`` returns the aware datetime a record is stamped with.
    """

    def __init__(
        self,
        directory: Path,
        s3: Any | None = None,
        bucket: str | None = None,
        prefix: str = "",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if (s3 is None) != (bucket is None):
            raise ValueError("AuditStore: give both s3 (a client) and bucket, or neither")
        self.directory = Path(directory)
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.clock = clock

    def write(
        self,
        kind: str,
        environment: str,
        data: Mapping[str, Any],
        record_id: str | None = None,
    ) -> AuditRecord:
        """Store a new record (credentials redacted from ``data``) and return it.

        Raises AuditConflict if a record with that id exists locally or in S3 (on an S3
        conflict the local copy this call just made is removed again, so both places keep
        the first record only), and AuditWriteError if either copy cannot be written.
        """
        recorded_at = self.clock()
        if recorded_at.tzinfo is None:
            raise ValueError("AuditStore clock returned a naive datetime; it must be aware")
        recorded_at = recorded_at.astimezone(UTC)
        _check_name("kind", kind)
        _check_name("environment", environment)
        if record_id is None:
            record_id = f"{recorded_at:%Y%m%dT%H%M%SZ}-{kind}-{uuid.uuid4().hex[:8]}"
        _check_name("record id", record_id)
        record = AuditRecord(
            id=record_id,
            kind=kind,
            environment=environment,
            recorded_at=recorded_at,
            data=redact(jsonable(dict(data))),
        )
        body = _encode(record)
        path = self._write_local(record, body)
        if self.s3 is not None:
            self._write_s3(record, body, path)
        return record

    def records(self, kind: str | None = None, environment: str | None = None) -> list[AuditRecord]:
        """Every readable record (optionally of one kind and environment), local and S3
        merged by id, newest first. Unreadable records are skipped with an AuditWarning."""
        found: dict[str, AuditRecord] = {}
        for record in self._local_records(kind, environment):
            found.setdefault(record.id, record)
        for record, where in self._s3_records(kind, environment):
            local = found.setdefault(record.id, record)
            if local is not record and local.to_json() != record.to_json():
                warnings.warn(
                    f"audit record {record.id}: the copy at {where} differs from the local "
                    f"one in {self.directory}; using the local one",
                    AuditWarning,
                    stacklevel=2,
                )
        return sorted(found.values(), key=_newest_first, reverse=True)

    def known_good(self, environment: str) -> list[AuditRecord]:
        """The environment's known-good records, newest first (the rollback candidates)."""
        return self.records(kind=KNOWN_GOOD, environment=environment)

    def _local_path(self, record: AuditRecord) -> Path:
        return self.directory / record.environment / record.kind / f"{record.id}.json"

    def _key(self, environment: str, kind: str, record_id: str) -> str:
        return "/".join(p for p in (self.prefix, environment, kind, f"{record_id}.json") if p)

    def _write_local(self, record: AuditRecord, body: bytes) -> Path:
        """Create the record's file in one step that never replaces an existing one: a reader
        never sees a partial file, and a second writer of the same id fails."""
        path = self._local_path(record)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # a file in the way is a write error
        except OSError as error:
            raise AuditWriteError(
                f"cannot write audit record {path}: {error.strerror or error}"
            ) from None
        try:
            write_new(path, body)
        except FileExistsError:
            raise AuditConflict(
                f"audit record {path} already exists; audit records are never overwritten, "
                "write the new record under another id"
            ) from None
        except OSError as error:
            raise AuditWriteError(
                f"cannot write audit record {path}: {error.strerror or error}"
            ) from None
        return path

    def _write_s3(self, record: AuditRecord, body: bytes, path: Path) -> None:
        import botocore.exceptions

        key = self._key(record.environment, record.kind, record.id)
        where = f"s3://{self.bucket}/{key}"
        try:
            assert self.s3 is not None
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except botocore.exceptions.ClientError as error:
            code = error_code(error)
            if lost_condition(error):
                path.unlink(missing_ok=True)
                raise AuditConflict(
                    f"audit record {where} already exists; audit records are never "
                    f"overwritten (the local copy {path} just made was removed again), "
                    "write the new record under another id"
                ) from None
            raise AuditWriteError(
                f"audit record {record.id} was written to {path} but not to {where} ({code}); "
                "the local record stays: copy it to S3 once the cause is fixed"
            ) from None
        except botocore.exceptions.BotoCoreError as error:
            raise AuditWriteError(
                f"audit record {record.id} was written to {path} but not to {where} "
                f"({type(error).__name__}: {error}); the local record stays: copy it to S3 "
                "once the cause is fixed"
            ) from None

    def _local_records(self, kind: str | None, environment: str | None) -> Iterator[AuditRecord]:
        if not self.directory.is_dir():
            return
        pattern = f"{environment or '*'}/{kind or '*'}/*.json"
        for path in sorted(self.directory.glob(pattern)):
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                record = AuditRecord.from_json(json.loads(path.read_bytes()))
                _check_place(record, path.parent.parent.name, path.parent.name, path.stem)
            except (OSError, ValueError, RecursionError) as error:  # nested too deep to parse
                warnings.warn(
                    f"skipping unreadable audit record {path}: {error}", AuditWarning, stacklevel=3
                )
                continue
            yield record

    def _s3_records(
        self, kind: str | None, environment: str | None
    ) -> Iterator[tuple[AuditRecord, str]]:
        if self.s3 is None:
            return
        import botocore.exceptions

        # S3 lists by key prefix: the kind narrows it only below a named environment.
        parts = [self.prefix, environment] + ([kind] if environment else [])
        list_prefix = "/".join(p for p in parts if p)
        list_prefix = f"{list_prefix}/" if list_prefix else ""
        keys: list[str] = []
        try:
            paginator = self.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=list_prefix):
                keys += [item["Key"] for item in page.get("Contents", [])]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            code = (
                error_code(error)
                if isinstance(error, botocore.exceptions.ClientError)
                else type(error).__name__
            )
            raise AuditReadError(
                f"cannot list audit records in s3://{self.bucket}/{list_prefix} ({code}); "
                "the history would be incomplete, so none is returned"
            ) from None
        base = f"{self.prefix}/" if self.prefix else ""
        for key in sorted(keys):
            place = key[len(base) :].split("/")
            if len(place) != 3 or not place[2].endswith(".json") or place[2].startswith("."):
                continue
            env_name, kind_name, name = place
            if (environment and env_name != environment) or (kind and kind_name != kind):
                continue
            where = f"s3://{self.bucket}/{key}"
            try:
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                record = AuditRecord.from_json(json.loads(body))
                _check_place(record, env_name, kind_name, name[: -len(".json")])
            except (
                ValueError,
                RecursionError,  # a record nested too deeply to parse
                botocore.exceptions.ClientError,
                botocore.exceptions.BotoCoreError,
            ) as error:
                warnings.warn(
                    f"skipping unreadable audit record {where}: {error}", AuditWarning, stacklevel=3
                )
                continue
            yield record, where


def open_store(env: Environment, s3: Callable[[], Any]) -> AuditStore:
    """The environment's audit store (``[<env>.audit]``): its local directory and, when a
    bucket is configured, that bucket and prefix. ``s3`` makes the S3 client and is only
    called when there is a bucket, so a store without one never touches AWS."""
    audit = env.audit
    if not audit.bucket:
        return AuditStore(audit.directory, prefix=audit.prefix)
    return AuditStore(audit.directory, s3=s3(), bucket=audit.bucket, prefix=audit.prefix)


def _check_place(record: AuditRecord, environment: str, kind: str, record_id: str) -> None:
    """A record must be stored where its own fields say, or it is not what it claims."""
    if (record.environment, record.kind, record.id) != (environment, kind, record_id):
        raise ValueError(
            f"stored as {environment}/{kind}/{record_id}.json but claims to be "
            f"{record.environment}/{record.kind}/{record.id}.json"
        )
