"""``ohpen metrics --chart``, in-process through ``cli.main``: the PNG is written beside the
report, and without matplotlib the command stops at once with one line naming the extra.

The environment points at a port nothing listens on: any AWS call would fail the test.
"""

from __future__ import annotations

import struct
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_ohpen import cli
from pytest_ohpen.cli import metrics as cli_metrics
from pytest_ohpen.records.store import AuditStore

NOW = datetime(2024, 9, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """[prod] with one automated rollback of 4 minutes three days ago (a quarter breach)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_metrics, "_now", lambda: NOW)
    audit = tmp_path / "audit"
    (tmp_path / "environments.toml").write_text(
        '[prod]\naccount_id = "123456789012"\nregion = "eu-west-1"\n'
        f'endpoint_url = "http://127.0.0.1:9"\n[prod.audit]\ndirectory = "{audit}"\n'
    )
    started = NOW - timedelta(days=3)
    finished = started + timedelta(minutes=4)
    AuditStore(audit, clock=lambda: finished).write(
        "incident",
        "prod",
        {
            "reason": "smoke tests failed",
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat(),
            "mode": "apply",
            "outcome": "applied",
            "verification": "smoke tests passed",
            "initiated_by": "trigger",
            "detected_at": None,
        },
    )
    return tmp_path


def ohpen(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_chart_is_written_as_a_png_beside_the_report(
    prod: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = prod / "out" / "rollbacks.png"

    code, out, err = ohpen(capsys, "metrics", "--env", "prod", "--chart", str(path))

    assert code == 1  # the quarter's one rollback breaches "< 1 per quarter"
    assert out.startswith("Rollback metrics: prod")
    body = path.read_bytes()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", body[16:24]) == (1000, 550)
    assert f"ohpen: chart written to {path}\n" in err
    assert [p.name for p in path.parent.iterdir()] == ["rollbacks.png"]


def test_chart_without_matplotlib_is_one_line_and_exit_2(
    prod: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were missing
    path = prod / "rollbacks.png"

    code, out, err = ohpen(capsys, "metrics", "--env", "prod", "--chart", str(path))

    assert code == 2
    assert err == "ohpen metrics --chart needs matplotlib: pip install 'pytest-ohpen[charts]'\n"
    assert out == ""  # stopped before the report: the job's log is not half a result
    assert not path.exists()


def test_without_chart_matplotlib_is_not_needed(
    prod: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = ohpen(capsys, "metrics", "--env", "prod")
    assert code == 1, err
    assert "matplotlib" not in err
