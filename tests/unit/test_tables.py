"""``text_table``: the aligned columns of ``ohpen state versions``, ``data runs``, ``metrics``."""

from __future__ import annotations

import pytest

from pytest_ohpen.util.tables import text_table


def test_columns_are_as_wide_as_their_widest_cell_two_spaces_apart() -> None:
    lines = text_table(
        ("RunId", "Rows", "Note"), [("r-1", "7", "promoted"), ("run-22", "1200", "")]
    )

    assert lines == [
        "RunId   Rows  Note",
        "r-1     7     promoted",
        "run-22  1200",  # the empty last cell leaves no trailing spaces
    ]


def test_right_aligned_columns_line_up_their_ends() -> None:
    lines = text_table(("Id", "Size", "Serial"), [("a", "5", "12"), ("b", "1024", "3")], {1, 2})

    assert lines == [
        "Id  Size  Serial",
        "a      5      12",
        "b   1024       3",
    ]


def test_a_header_without_rows_is_one_line() -> None:
    assert text_table(["date", "fault"], []) == ["date  fault"]


def test_a_row_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError, match="has 1 cells, the header 2"):
        text_table(("a", "b"), [("only",)])
