"""A catalog table's newest version against the one before it: a dropped column or a
changed type breaks readers; an added column does not (pure logic, no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ohpen.checks.catalog import schema_breaks, split_table, table_columns

V1 = [
    {"Name": "transaction_id", "Type": "string"},
    {"Name": "amount", "Type": "decimal(18,2)"},
    {"Name": "booked_at", "Type": "timestamp"},
]


def test_the_same_columns_break_nothing() -> None:
    assert schema_breaks(V1, list(V1)) == []


def test_an_added_column_breaks_nothing() -> None:
    assert schema_breaks(V1, [*V1, {"Name": "currency", "Type": "string"}]) == []


def test_reordered_columns_break_nothing() -> None:
    assert schema_breaks(V1, list(reversed(V1))) == []


def test_a_dropped_column_is_named() -> None:
    assert schema_breaks(V1, [V1[0], V1[2]]) == ["dropped column amount"]


def test_a_changed_type_says_from_what_to_what() -> None:
    newest = [V1[0], {"Name": "amount", "Type": "string"}, V1[2]]
    assert schema_breaks(V1, newest) == ["column amount type decimal(18,2) -> string"]


def test_every_break_is_listed_in_the_previous_order() -> None:
    newest = [{"Name": "booked_at", "Type": "string"}]
    assert schema_breaks(V1, newest) == [
        "dropped column transaction_id",
        "dropped column amount",
        "column booked_at type timestamp -> string",
    ]


@pytest.mark.parametrize(
    ("name", "kind"), [("AMOUNT", "decimal(18,2)"), ("amount", "DECIMAL(18, 2)")]
)
def test_case_and_spaces_are_no_change(name: str, kind: str) -> None:
    """Glue stores names in lower case and types as written: neither is a break."""
    newest = [V1[0], {"Name": name, "Type": kind}, V1[2]]
    assert schema_breaks(V1, newest) == []


def test_partition_keys_count_as_columns() -> None:
    table: dict[str, Any] = {
        "StorageDescriptor": {"Columns": V1},
        "PartitionKeys": [{"Name": "booking_date", "Type": "string"}],
    }
    dropped: dict[str, Any] = {"StorageDescriptor": {"Columns": V1}}
    assert schema_breaks(table_columns(table), table_columns(dropped)) == [
        "dropped column booking_date"
    ]


def test_a_table_without_storage_has_only_its_partition_keys() -> None:
    assert table_columns({"PartitionKeys": [{"Name": "d", "Type": "string"}]}) == [
        {"Name": "d", "Type": "string"}
    ]


@pytest.mark.parametrize("bad", ["transactions", ".transactions", "silver.", "a.b.c"])
def test_a_table_is_named_database_dot_table(bad: str) -> None:
    with pytest.raises(ValueError, match=r"expected 'database\.table'"):
        split_table(bad)
    assert split_table("silver.transactions") == ("silver", "transactions")
