"""The OHPEN_* hand-off between a run and the rollback command it starts: what one side
writes is what the other reads, under the public names scripts and CD workflows use."""

from __future__ import annotations

import pytest

from pytest_ohpen.rollback.handoff import Handoff, from_env

EVERYTHING = Handoff(
    env="staging",
    mode="apply",
    detected_at="2024-05-01T10:00:00Z",
    approved_by="alice",
    initiated_by="trigger",
    drill=True,
    embedded_endpoint="http://127.0.0.1:4566",
    python="/venv/bin/python",
)


def test_what_is_written_is_what_is_read() -> None:
    assert from_env(EVERYTHING.to_env()) == EVERYTHING


def test_the_names_are_the_public_contract() -> None:
    """scripts/*.sh and the CD workflows read these names: they must never drift."""
    assert EVERYTHING.to_env() == {
        "OHPEN_ENV": "staging",
        "OHPEN_ROLLBACK_MODE": "apply",
        "OHPEN_DETECTED_AT": "2024-05-01T10:00:00Z",
        "OHPEN_ROLLBACK_APPROVED_BY": "alice",
        "OHPEN_ROLLBACK_INITIATED_BY": "trigger",
        "OHPEN_DRILL": "1",
        "OHPEN_EMBEDDED_ENDPOINT": "http://127.0.0.1:4566",
        "OHPEN_PYTHON": "/venv/bin/python",
    }


def test_what_was_not_told_is_not_written_and_empty_is_not_told() -> None:
    assert Handoff(env="prod").to_env() == {"OHPEN_ENV": "prod"}
    assert from_env({"OHPEN_DRILL": "", "OHPEN_ROLLBACK_APPROVED_BY": ""}) == Handoff()


@pytest.mark.parametrize(
    ("environ", "initiator"),
    [
        ({"OHPEN_DRILL": "1", "OHPEN_ROLLBACK_MODE": "apply"}, "drill"),
        ({"OHPEN_ROLLBACK_INITIATED_BY": "trigger"}, "trigger"),
        ({"OHPEN_ROLLBACK_INITIATED_BY": "operator", "OHPEN_ROLLBACK_MODE": "apply"}, "operator"),
        ({"OHPEN_ROLLBACK_INITIATED_BY": "someone", "OHPEN_ROLLBACK_MODE": "dry-run"}, "trigger"),
        ({"OHPEN_ROLLBACK_INITIATED_BY": "someone"}, "operator"),
        ({}, "operator"),
    ],
)
def test_who_started_the_rollback(environ: dict[str, str], initiator: str) -> None:
    """The metrics split automated from manual rollbacks on this."""
    assert from_env(environ).initiator == initiator
