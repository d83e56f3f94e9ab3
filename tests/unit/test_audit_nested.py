"""A record nested too deeply to parse is skipped with a warning naming it, like any other
unreadable record, instead of crashing every reader of the store (``ohpen metrics``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_ohpen.records.store import AuditStore, AuditWarning


def test_a_record_nested_too_deeply_is_skipped_and_named(tmp_path: Path) -> None:
    store = AuditStore(tmp_path)
    kept = store.write("incident", "prod", {"outcome": "applied"})
    deep = tmp_path / "prod" / "incident" / "20261202T000000Z-incident-deadbeef.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.warns(AuditWarning, match="deadbeef"):
        records = store.records(kind="incident", environment="prod")
    assert [record.id for record in records] == [kept.id]
