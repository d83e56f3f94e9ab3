"""The metrics window (``--since``), its months, and how a duration is written.

Pure functions, shared by the figures, the renderers and the command.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_SINCE = re.compile(r"^\s*(\d+)\s*([dwm])\s*$", re.IGNORECASE)
_DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30}
MAX_WINDOW_DAYS = 3660
"""The longest look-back ``--since`` accepts (about ten years): older history is not a
figure anyone acts on, and a bound keeps every date computed from it representable."""


def month(moment: datetime) -> str:
    """``YYYY-MM``."""
    return f"{moment.year:04d}-{moment.month:02d}"


def quarter(moment: datetime) -> str:
    """``YYYY-Qn``."""
    return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"


def months(since: datetime, now: datetime) -> list[datetime]:
    """The first instant of every month from ``since``'s to ``now``'s, inclusive."""
    year, number = since.year, since.month
    found = []
    while (year, number) <= (now.year, now.month):
        found.append(datetime(year, number, 1, tzinfo=UTC))
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return found


def aware(moment: datetime, what: str) -> datetime:
    """``moment`` in UTC; ValueError naming ``what`` when it has no zone."""
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def parse_since(text: str) -> timedelta | datetime:
    """``--since``: a look-back ("90d", "12w", "6m"; a month is 30 days) of at most
    MAX_WINDOW_DAYS, or an ISO date or datetime (zone-less means UTC). ValueError in one
    line for anything else."""
    expected = "expected a look-back like 90d, 12w or 6m, or an ISO date like 2024-07-01"
    found = _SINCE.match(text)
    if found:
        digits, unit = found.group(1), found.group(2).lower()
        count = int(digits) if len(digits) <= 6 else MAX_WINDOW_DAYS + 1  # no huge ints
        if count == 0:
            raise ValueError(f"{text!r}: the look-back must be at least 1 ({expected})")
        if count * _DAYS_PER_UNIT[unit] > MAX_WINDOW_DAYS:
            raise ValueError(
                f"{text!r}: the look-back must be at most {MAX_WINDOW_DAYS} days (about ten years)"
            )
        return timedelta(days=count * _DAYS_PER_UNIT[unit])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r}: {expected}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def window_start(since: timedelta | datetime, now: datetime) -> datetime:
    """The window's first instant for a parsed ``--since``, relative to ``now``."""
    if isinstance(since, timedelta):
        return aware(now, "now") - since
    return aware(since, "since")


def window(text: str, now: datetime) -> datetime:
    """The first instant of the window ``--since TEXT`` asks for, which must start before
    ``now`` and at most MAX_WINDOW_DAYS earlier; ValueError in one line naming TEXT."""
    start = window_start(parse_since(text), now)
    if start >= now:
        raise ValueError(f"{text!r}: the window must start before now")
    if now - start > timedelta(days=MAX_WINDOW_DAYS):
        raise ValueError(
            f"{text!r}: the window must start at most {MAX_WINDOW_DAYS} days (about ten "
            f"years) before now, i.e. on or after {now - timedelta(days=MAX_WINDOW_DAYS):%Y-%m-%d}"
        )
    return start


def duration_text(seconds: float | None) -> str:
    """``seconds`` as "45s", "8m 20s" or "1h 05m 00s"; "-" for no data."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
