"""The bake window: after a deploy, watch the alarms for a while, as CloudFormation's
rollback triggers do for ``MonitoringTimeInMinutes``, and fail at the first ALARM.

The window is absolute (it starts at the deploy and ends ``bake_minutes`` later), so the
tests of several alarms in one run wait it out once in total, not once each. Reading the
alarm's history as well as its state catches an alarm that fired and recovered between
two looks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing
from pytest_ohpen.checks.pipeline import one_line

ALARM_NOT_FOUND = frozenset({"ResourceNotFound"})
ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]


@dataclass(frozen=True)
class BakeWindow:
    """When the alarms are watched (UTC): from the deploy to ``bake_minutes`` later."""

    start: datetime
    end: datetime


def alarm_entries(
    history_items: list[dict[str, Any]], since: datetime
) -> list[tuple[datetime, str]]:
    """DescribeAlarmHistory's StateUpdate items that put the alarm into ALARM at or after
    ``since``, oldest first, each with the new state's reason (else the item's summary)."""
    entries: list[tuple[datetime, str]] = []
    for item in history_items:
        stamp = item.get("Timestamp")
        if item.get("HistoryItemType") != "StateUpdate" or not isinstance(stamp, datetime):
            continue
        try:
            data = json.loads(item.get("HistoryData") or "{}")
        except ValueError:
            continue
        new_state = data.get("newState") if isinstance(data, dict) else None
        if not isinstance(new_state, dict) or new_state.get("stateValue") != "ALARM":
            continue
        if _utc(stamp) < _utc(since):
            continue
        reason = str(new_state.get("stateReason") or item.get("HistorySummary") or "")
        entries.append((_utc(stamp), one_line(reason or "no reason given")))
    return sorted(entries, key=lambda entry: entry[0])


def watch_alarm(
    cloudwatch: Any,
    alarm: str,
    window: BakeWindow,
    where: Where,
    poll_seconds: float = 15.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Until the window ends, look every ``poll_seconds`` at the alarm's state and its
    history since the deploy (the window's start); fail at the first ALARM seen. When the
    window has already ended, look once."""
    while True:
        now = _utc(clock())
        _look(cloudwatch, alarm, window, where)
        if now >= _utc(window.end):
            return
        sleep(max(0.0, min(poll_seconds, (_utc(window.end) - now).total_seconds())))


def _look(cloudwatch: Any, alarm: str, window: BakeWindow, where: Where) -> None:
    start, end = _utc(window.start), _utc(window.end)
    with probing("alarm", alarm, where, ALARM_NOT_FOUND):
        found = cloudwatch.describe_alarms(AlarmNames=[alarm], AlarmTypes=ALARM_TYPES)
        described = [*found.get("MetricAlarms", []), *found.get("CompositeAlarms", [])]
        if not described:
            raise CheckFailed(f"alarm {alarm}: not found {where}")
        items = [
            item
            for page in cloudwatch.get_paginator("describe_alarm_history").paginate(
                AlarmName=alarm,
                AlarmTypes=ALARM_TYPES,
                HistoryItemType="StateUpdate",
                StartDate=start,
                ScanBy="TimestampAscending",
            )
            for item in page.get("AlarmHistoryItems", [])
        ]
    span = f"(bake window {_iso(start)} to {_iso(end)})"
    # Everything since the deploy counts, also past the window's end when the look comes
    # later: an alarm that fired after the deploy, or is in ALARM now, is never a pass.
    fired = alarm_entries(items, start)
    if fired:
        at, reason = fired[0]
        raise CheckFailed(
            f"alarm {alarm}: went into ALARM at {_iso(at)}, {_into(start, at)} the deploy "
            f"{span}: {reason} {where}"
        )
    state = described[0]
    if state.get("StateValue") != "ALARM":
        return
    since = state.get("StateUpdatedTimestamp")
    since = _utc(since) if isinstance(since, datetime) else None
    reason = one_line(str(state.get("StateReason") or "no reason given"))
    if since is not None and since >= start:
        raise CheckFailed(
            f"alarm {alarm}: went into ALARM at {_iso(since)}, {_into(start, since)} the "
            f"deploy {span}: {reason} {where}"
        )
    shown = _iso(since) if since else "an unknown time"
    raise CheckFailed(
        f"alarm {alarm}: in ALARM since {shown}, before the deploy, and still {span}: "
        f"{reason} {where}"
    )


def _into(start: datetime, at: datetime) -> str:
    minutes = int((at - start).total_seconds() // 60)
    return "under a minute after" if minutes < 1 else f"{minutes} min after"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"
