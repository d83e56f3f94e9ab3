"""State versions are listed newest first, for exactly the state key.

Listing and reading run against a real moto server holding a state bucket after three
applies (tests/accounts.py); parsing a state is tested in tests/unit/test_state_parse.py.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import boto3
import botocore.exceptions
import pytest
from accounts import STATE_BUCKET, STATE_KEY, terraform_state, three_applies

from pytest_ohpen.terraform.state_versions import (
    StateVersion,
    bucket_versioning,
    list_versions,
    parse_state,
    read_version,
)

REGION = "eu-west-1"


def _s3(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, region_name=REGION)


def _bucket(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


@pytest.fixture
def state_bucket(fresh_moto: str) -> Any:
    """The state bucket after three applies: versions of the state with serials 1, 2, 3."""
    three_applies(fresh_moto)
    return _s3(fresh_moto)


def _serials(s3: Any, versions: list[StateVersion]) -> list[int]:
    return [
        parse_state(read_version(s3, STATE_BUCKET, STATE_KEY, v.version_id)).serial
        for v in versions
    ]


def test_versions_are_newest_first_with_only_the_newest_latest(state_bucket: Any) -> None:
    """Step 1: the current state first, then the previous (good) one, then older ones."""
    versions = list_versions(state_bucket, STATE_BUCKET, STATE_KEY)

    assert [v.is_latest for v in versions] == [True, False, False]
    assert not any(v.is_delete_marker for v in versions)
    assert _serials(state_bucket, versions) == [3, 2, 1]
    assert all(v.last_modified.tzinfo == UTC for v in versions)
    assert all(v.size > 0 for v in versions)
    assert len({v.version_id for v in versions}) == 3


def test_a_neighbouring_key_with_the_same_prefix_is_excluded(state_bucket: Any) -> None:
    """S3 lists by prefix; terraform.tfstate.backup is not a version of the state."""
    for _ in range(2):
        state_bucket.put_object(Bucket=STATE_BUCKET, Key=f"{STATE_KEY}.backup", Body=b"{}")

    versions = list_versions(state_bucket, STATE_BUCKET, STATE_KEY)

    assert len(versions) == 3
    assert _serials(state_bucket, versions) == [3, 2, 1]


def test_pages_are_followed_and_listing_stops_past_the_key(state_bucket: Any) -> None:
    """One entry per page: all three versions are found, the .backup key's pages are not read."""
    for _ in range(3):
        state_bucket.put_object(Bucket=STATE_BUCKET, Key=f"{STATE_KEY}.backup", Body=b"{}")
    calls: list[dict[str, Any]] = []

    def one_per_page(params: dict[str, Any], **_: Any) -> None:
        params["MaxKeys"] = 1
        calls.append(dict(params))

    state_bucket.meta.events.register("provide-client-params.s3.ListObjectVersions", one_per_page)

    versions = list_versions(state_bucket, STATE_BUCKET, STATE_KEY)

    assert _serials(state_bucket, versions) == [3, 2, 1]
    assert len(calls) == 4  # three pages of the state, one that moved on to the backup


def test_a_delete_marker_is_listed_first_when_it_is_latest(state_bucket: Any) -> None:
    """A deleted state (delete marker on top) still has its versions to roll back to."""
    state_bucket.delete_object(Bucket=STATE_BUCKET, Key=STATE_KEY)

    versions = list_versions(state_bucket, STATE_BUCKET, STATE_KEY)

    assert len(versions) == 4
    top, *older = versions
    assert top.is_delete_marker and top.is_latest and top.size == 0
    assert [v.is_latest or v.is_delete_marker for v in older] == [False, False, False]
    assert _serials(state_bucket, older) == [3, 2, 1]
    with pytest.raises(botocore.exceptions.ClientError):
        read_version(state_bucket, STATE_BUCKET, STATE_KEY, top.version_id)


def test_read_version_returns_that_versions_bytes(state_bucket: Any) -> None:
    """Step 2: the previous version's body is exactly what that apply stored."""
    previous = list_versions(state_bucket, STATE_BUCKET, STATE_KEY)[1]

    body = read_version(state_bucket, STATE_BUCKET, STATE_KEY, previous.version_id)

    assert json.loads(body) == terraform_state(2)
    assert len(body) == previous.size


def test_a_versioned_state_bucket_is_enabled(state_bucket: Any) -> None:
    """Rollback needs previous versions, which only an Enabled bucket keeps."""
    assert bucket_versioning(state_bucket, STATE_BUCKET) == "Enabled"


def test_a_bucket_without_versioning(fresh_moto: str) -> None:
    """Never versioned: "Disabled", and the key has one version, the "null" one."""
    s3 = _s3(fresh_moto)
    _bucket(s3, "plain-state")
    s3.put_object(Bucket="plain-state", Key=STATE_KEY, Body=b"old")
    s3.put_object(Bucket="plain-state", Key=STATE_KEY, Body=b"new!")

    assert bucket_versioning(s3, "plain-state") == "Disabled"
    versions = list_versions(s3, "plain-state", STATE_KEY)
    assert [(v.version_id, v.is_latest, v.size) for v in versions] == [("null", True, 4)]


def test_suspended_versioning_is_reported(fresh_moto: str) -> None:
    """Suspended keeps old versions but adds no new ones: a distinct answer."""
    s3 = _s3(fresh_moto)
    _bucket(s3, "suspended-state")
    s3.put_bucket_versioning(
        Bucket="suspended-state", VersioningConfiguration={"Status": "Suspended"}
    )

    assert bucket_versioning(s3, "suspended-state") == "Suspended"


def test_an_empty_key_has_no_versions(fresh_moto: str) -> None:
    """No state was ever written: an empty list, not an error."""
    s3 = _s3(fresh_moto)
    _bucket(s3, "empty-state")

    assert list_versions(s3, "empty-state", STATE_KEY) == []
