"""After a failed apply, the recovery names what the apply changed before it failed."""

from __future__ import annotations

import json
from typing import Any

from pytest_ohpen.rollback.recovery import left_by_hand


def _state(*resources: tuple[str, str, dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "version": 4,
            "serial": 1,
            "lineage": "l",
            "resources": [
                {
                    "mode": "managed",
                    "type": kind,
                    "name": name,
                    "instances": [{"attributes": attributes}],
                }
                for kind, name, attributes in resources
            ],
        }
    ).encode()


def test_created_deleted_and_changed_resources_are_named() -> None:
    backup = _state(
        ("aws_glue_job", "etl", {"name": "job", "worker_type": "G.1X"}),
        ("aws_s3_bucket", "old", {"bucket": "old"}),
    )
    failed = _state(
        ("aws_glue_job", "etl", {"name": "job", "worker_type": "G.2X"}),
        ("aws_iam_role_policy", "admin", {"name": "admin"}),
    )
    assert left_by_hand(failed, backup) == [
        "aws_iam_role_policy.admin (created by the apply)",
        "aws_s3_bucket.old (gone: removed by the apply or found deleted)",
        "changed aws_glue_job.etl (worker_type)",
    ]


def test_nothing_changed_is_nothing_to_do() -> None:
    same = _state(("aws_s3_bucket", "b", {"bucket": "b"}))
    assert left_by_hand(same, same) == []


def test_an_unreadable_state_says_compare_by_hand() -> None:
    [line] = left_by_hand(b"not json", _state())
    assert line.startswith("cannot compare the states") and "by hand" in line
