"""Reading an Allure results directory back: results, parameters, attachments, leaks.

Shared by the pure tests of the run files (tests/unit) and the end-to-end runs (tests/e2e).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FAKE_KEY_ID = "AKIAFAKEOHPENTEST0001"
FAKE_SECRET = "fake-secret-ohpen-test-do-not-leak"
"""The caller's fake AWS credentials (tests/conftest.py sets them in the environment)."""
FAKE_TOKEN = "ghp_fakeOhpenCiToken0123456789abcdefXYZ"
"""A CI token in the environment, which the rollback command inherits and prints."""
LEAKS = (FAKE_KEY_ID, FAKE_SECRET, FAKE_TOKEN)


def results_of(directory: Path) -> list[dict[str, Any]]:
    """Every result of the directory, in the order the attempts started."""
    found = [json.loads(p.read_text()) for p in directory.glob("*-result.json")]
    return sorted(found, key=lambda r: (r.get("start", 0), r["name"]))


def parameters(result: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in result.get("parameters", [])}


def attachment(directory: Path, result: dict[str, Any], name: str) -> str:
    [source] = [a["source"] for a in result["attachments"] if a["name"] == name]
    return directory.joinpath(source).read_text()


def assert_no_leak(directory: Path) -> None:
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in LEAKS:
            assert secret.encode() not in data, (secret, path)
