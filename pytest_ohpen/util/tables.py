"""Plain-text tables for terminals and job logs: columns aligned, two spaces apart.

The one renderer behind ``ohpen state versions``, ``ohpen data runs`` and the tables of
``ohpen metrics``, so their output lines up the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence


def text_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    right_aligned: Collection[int] = (),
) -> list[str]:
    """The header and rows as lines, each column as wide as its widest cell.

    Columns whose index is in ``right_aligned`` are right-aligned (numbers), the others
    left-aligned; trailing spaces are stripped. Every row must have the header's length
    (ValueError otherwise).
    """
    table = [tuple(header), *(tuple(row) for row in rows)]
    for row in table:
        if len(row) != len(header):
            raise ValueError(f"table row {row!r} has {len(row)} cells, the header {len(header)}")
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(width) if i in right_aligned else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(row) for row in table]
