"""The rollback trigger's command: what it is told (the OHPEN_* hand-off, the embedded
account's keys) and where it runs. The gates: tests/unit/test_trigger_gate.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import prod_environment

from pytest_ohpen.aws.clients import EMBEDDED_CREDENTIALS
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.rollback.handoff import Handoff
from pytest_ohpen.rollback.trigger import rollback_handoff, run_rollback

# --- run_rollback: what the command is told and where it runs ------------------------------


def _env(emulated: bool = False) -> Environment:
    return prod_environment(name="staging", emulated=emulated)


TELL = (
    "import json, os, sys\n"
    "names = [n for n in os.environ if n.startswith(('OHPEN_', 'AWS_'))]\n"
    "print(json.dumps({'cwd': os.getcwd(), 'env': {n: os.environ[n] for n in names}}))\n"
)


def _told(tmp_path: Path, handoff: Handoff, endpoint_url: str | None) -> dict[str, Any]:
    """What a ``scripts/tell.py`` rollback command run by the trigger saw."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "tell.py").write_text(TELL)
    result = run_rollback(
        [sys.executable, "scripts/tell.py"],
        handoff,
        endpoint_url=endpoint_url,
        cwd=repo,
        timeout=20.0,
        on_line=lambda line: None,
    )
    assert result.exit_code == 0, result.output
    told: dict[str, Any] = json.loads(result.output[-1])
    assert told["cwd"] == str(repo)
    return told


def test_the_command_is_told_the_environment_mode_detection_and_interpreter(
    tmp_path: Path,
) -> None:
    """scripts/rollback_terraform.sh runs ``$OHPEN_PYTHON -m pytest_ohpen.cli``: the
    interpreter that has the plugin, whatever python3 on PATH is."""
    handoff = rollback_handoff(
        _env(), None, "dry-run", detected_at="2024-05-01T10:00:00Z", approved_by=None
    )
    env = _told(tmp_path, handoff, None)["env"]
    assert env["OHPEN_ENV"] == "staging"
    assert env["OHPEN_ROLLBACK_MODE"] == "dry-run"
    assert env["OHPEN_DETECTED_AT"] == "2024-05-01T10:00:00Z"
    assert env["OHPEN_PYTHON"] == sys.executable
    assert "OHPEN_DRILL" not in env and "OHPEN_EMBEDDED_ENDPOINT" not in env
    assert env["AWS_SECRET_ACCESS_KEY"] == "fake-secret-ohpen-test-do-not-leak"  # inherited


def test_an_embedded_account_command_gets_the_fake_keys_and_none_of_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-session-token")
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    url = "http://127.0.0.1:4566"
    handoff = rollback_handoff(
        _env(emulated=True), url, "apply", detected_at=None, approved_by="alice", drill=True
    )
    env = _told(tmp_path, handoff, url)["env"]
    assert env["OHPEN_EMBEDDED_ENDPOINT"] == url and env["AWS_ENDPOINT_URL"] == url
    assert env["AWS_ACCESS_KEY_ID"] == EMBEDDED_CREDENTIALS["aws_access_key_id"]
    assert env["AWS_SECRET_ACCESS_KEY"] == EMBEDDED_CREDENTIALS["aws_secret_access_key"]
    assert "AWS_SESSION_TOKEN" not in env and "AWS_PROFILE" not in env
    assert (env["OHPEN_ROLLBACK_APPROVED_BY"], env["OHPEN_DRILL"]) == ("alice", "1")
