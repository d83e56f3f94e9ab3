"""Python values as JSON types, for records and documents written at the edges.

Typed objects (dataclasses, enums, datetimes, paths) are used inside; this is the one
place that turns them into what ``json.dumps`` accepts, so a stored record reads the same
whichever module wrote it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any


def iso_utc(moment: datetime) -> str:
    """``moment`` in ISO 8601, in UTC with ``Z`` (naive datetimes stay zone-less)."""
    if moment.tzinfo is None:
        return moment.isoformat()
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """``value`` as JSON types: datetimes as ISO 8601, paths and other objects as strings."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item) for item in value), key=repr)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, PurePath):
        return str(value)
    return str(value)
