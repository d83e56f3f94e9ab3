"""DescribeAlarmHistory for moto's CloudWatch, which records every alarm state change but
does not answer this call (moto 5.2.5 raises NotImplementedError: HTTP 500).

The bake window (``checks/bake.py``) reads an alarm's history so that an ALARM between
two looks is not missed; in the embedded account that read would otherwise always be
inconclusive. :func:`install` adds the action to moto's CloudWatch responses, built from
the alarm's own record of its states, in AWS's shape (``HistoryData`` JSON with
``oldState`` and ``newState``). Only StateUpdate items exist, as moto records only those.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any


def state_updates(
    states: list[tuple[str, str, datetime]], alarm: str, alarm_type: str = "MetricAlarm"
) -> list[dict[str, Any]]:
    """AWS's StateUpdate history items from an alarm's states, oldest first, each
    (value, reason, since when); a "change" to the same value is not one."""
    items = []
    for (old, old_reason, _), (new, new_reason, at) in pairwise(states):
        if old == new:
            continue
        data = {
            "version": "1.0",
            "oldState": {"stateValue": old, "stateReason": old_reason},
            "newState": {"stateValue": new, "stateReason": new_reason},
        }
        items.append(
            {
                "AlarmName": alarm,
                "AlarmType": alarm_type,
                "Timestamp": at,
                "HistoryItemType": "StateUpdate",
                "HistorySummary": f"Alarm updated from {old} to {new}",
                "HistoryData": json.dumps(data),
            }
        )
    return items


def _describe_alarm_history(self: Any) -> Any:
    """The action, as a method of moto's CloudWatchResponse."""
    from moto.core.responses import ActionResult

    name = self._get_param("AlarmName")
    kind = self._get_param("HistoryItemType")
    start, end = self._get_param("StartDate"), self._get_param("EndDate")
    items: list[dict[str, Any]] = []
    for alarm in self.cloudwatch_backend.alarms.values():
        if name and alarm.name != name:
            continue
        states = [(entry[3], entry[1], entry[4]) for entry in alarm.history]
        states.append((alarm.state_value, alarm.state_reason, alarm.state_updated_timestamp))
        alarm_type = "CompositeAlarm" if alarm.rule is not None else "MetricAlarm"
        items += state_updates(states, alarm.name, alarm_type)
    if kind and kind != "StateUpdate":
        items = []
    items = [i for i in items if _within(i["Timestamp"], _moment(start), _moment(end))]
    descending = self._get_param("ScanBy") != "TimestampAscending"
    items.sort(key=lambda item: _aware(item["Timestamp"]), reverse=descending)
    return ActionResult({"AlarmHistoryItems": items})


def install() -> None:
    """Teach moto's CloudWatch DescribeAlarmHistory (once per process; idempotent)."""
    from moto.cloudwatch.responses import CloudWatchResponse

    if not hasattr(CloudWatchResponse, "describe_alarm_history"):
        CloudWatchResponse.describe_alarm_history = _describe_alarm_history  # type: ignore[attr-defined]


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, str) and value:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return None


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    moment = _aware(at)
    return (start is None or moment >= start) and (end is None or moment <= end)


def _aware(moment: datetime) -> datetime:
    """moto keeps naive UTC times."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
