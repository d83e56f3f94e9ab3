"""Glue Data Catalog: a table's newest definition can still read what the one before it
described. A deploy that drops a column or changes its type breaks every Athena query and
job reading it, while the table still "exists"; Glue keeps each UpdateTable's previous
definition as a version, so the newest two are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing

NOT_FOUND = frozenset({"EntityNotFoundException"})


@dataclass(frozen=True)
class Break:
    """One incompatible difference: a column dropped, or its type changed."""

    column: str
    was: str
    now: str | None
    """The new type; None when the column was dropped."""

    def __str__(self) -> str:
        if self.now is None:
            return f"dropped column {self.column}"
        return f"column {self.column} type {self.was} -> {self.now}"

    def verb(self) -> str:
        """As said of a table version: 'drops column amount'."""
        if self.now is None:
            return f"drops column {self.column}"
        return f"changes column {self.column} type {self.was} -> {self.now}"


def _type(column: dict[str, Any]) -> str:
    """A Hive type, compared as Glue does: case and spaces do not matter."""
    return str(column.get("Type", "")).replace(" ", "").lower()


def breaks(previous: list[dict[str, Any]], newest: list[dict[str, Any]]) -> list[Break]:
    """What the newest columns break of the previous ones, in the previous order (an added
    column breaks nothing). Names are compared case-insensitively, as Glue stores them."""
    now = {str(c.get("Name", "")).lower(): c for c in newest}
    found = []
    for column in previous:
        name = str(column.get("Name", ""))
        after = now.get(name.lower())
        if after is None:
            found.append(Break(name, str(column.get("Type", "")), None))
        elif _type(after) != _type(column):
            found.append(Break(name, str(column.get("Type", "")), str(after.get("Type", ""))))
    return found


def schema_breaks(previous: list[dict[str, Any]], newest: list[dict[str, Any]]) -> list[str]:
    """``breaks`` in words: "dropped column amount", "column amount type decimal(18,2) ->
    string"; empty when the newest columns can read all the previous ones."""
    return [str(found) for found in breaks(previous, newest)]


def table_columns(table: dict[str, Any]) -> list[dict[str, Any]]:
    """A table version's columns, partition keys included (a query filters on those too)."""
    storage = table.get("StorageDescriptor") or {}
    return [*(storage.get("Columns") or []), *(table.get("PartitionKeys") or [])]


def split_table(table: str) -> tuple[str, str]:
    """ "database.table" → (database, table); ValueError for anything else."""
    database, dot, name = table.partition(".")
    if not dot or not database or not name or "." in name:
        raise ValueError(f"table {table!r}: expected 'database.table'")
    return database, name


def check_table_schema_compatible(glue: Any, table: str, where: Where) -> None:
    """GetTableVersions: the newest version keeps every column of the version before it,
    each of the same type. A table with one version passes (nothing to compare)."""
    database, name = split_table(table)
    versions: list[dict[str, Any]] = []
    with probing("table", table, where, NOT_FOUND):
        pages = glue.get_paginator("get_table_versions").paginate(
            DatabaseName=database, TableName=name
        )
        for page in pages:
            versions.extend(page.get("TableVersions", []))
    if len(versions) < 2:
        return
    versions.sort(key=lambda version: int(version["VersionId"]))
    before, newest = versions[-2], versions[-1]
    found = breaks(table_columns(before["Table"]), table_columns(newest["Table"]))
    if found:
        said = ", ".join(item.verb() for item in found)
        raise CheckFailed(
            f"table {table}: version {newest['VersionId']} {said} "
            f"(was in version {before['VersionId']}) {where}"
        )
