"""The bake window watches an alarm until the window ends and fails at the first ALARM in
it, from the alarm's state or its history; an ended window is one look.

A fake CloudWatch whose answers change with a fake clock, so a 30-minute window runs
in no time; the sleeps asked for are recorded. Against moto: tests/aws/test_ops_checks.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions as bex
import pytest

from pytest_ohpen.checks import CheckFailed, CheckInconclusive, Where
from pytest_ohpen.checks.bake import BakeWindow, alarm_entries, watch_alarm
from pytest_ohpen.emulator.alarm_history import state_updates

WHERE = Where("123456789012", "eu-west-1")
AT = "in account 123456789012 eu-west-1"
ALARM = "ohpen-etl-pipeline-failed"
START = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
WINDOW = BakeWindow(START, START + timedelta(minutes=30))
SPAN = "(2026-12-02T10:00:00Z to 2026-12-02T10:30:00Z)"


def _item(
    at: datetime, new: str, reason: str = "Threshold Crossed", old: str = "OK"
) -> dict[str, Any]:
    data = {
        "version": "1.0",
        "oldState": {"stateValue": old, "stateReason": "before"},
        "newState": {"stateValue": new, "stateReason": reason},
    }
    return {
        "AlarmName": ALARM,
        "Timestamp": at,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old} to {new}",
        "HistoryData": json.dumps(data),
    }


# ---------------------------------------------------------------- alarm_entries


def test_alarm_entries_are_the_alarm_transitions_since_oldest_first() -> None:
    items = [
        _item(START + timedelta(minutes=9), "ALARM", "second"),
        _item(START - timedelta(minutes=1), "ALARM", "before the window"),
        _item(START, "ALARM", "at the start"),
        _item(START + timedelta(minutes=5), "OK", "recovered", old="ALARM"),
        {**_item(START + timedelta(minutes=6), "ALARM"), "HistoryItemType": "Action"},
        {**_item(START + timedelta(minutes=7), "ALARM"), "HistoryData": "{broken"},
        _item(START.replace(tzinfo=None) + timedelta(minutes=8), "ALARM", "naive is UTC"),
    ]
    assert alarm_entries(items, START) == [
        (START, "at the start"),
        (START + timedelta(minutes=8), "naive is UTC"),
        (START + timedelta(minutes=9), "second"),
    ]


def test_alarm_entries_fall_back_to_the_summary_and_flatten_reasons() -> None:
    no_reason = _item(START, "ALARM", "")
    many_lines = _item(START + timedelta(minutes=1), "ALARM", "Threshold\n  Crossed:\n1 datapoint")
    assert alarm_entries([no_reason, many_lines], START) == [
        (START, "Alarm updated from OK to ALARM"),
        (START + timedelta(minutes=1), "Threshold Crossed: 1 datapoint"),
    ]


# ---------------------------------------------------------------- watch_alarm


class Clock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


class FakeCloudWatch:
    """An alarm whose state and history are functions of the clock."""

    def __init__(
        self,
        clock: Clock,
        events: list[tuple[datetime, str, str]] | None = None,
        exists: bool = True,
        history_error: bex.ClientError | None = None,
    ) -> None:
        self.clock = clock
        self.events = sorted(events or [])
        self.exists = exists
        self.history_error = history_error
        self.looks = 0
        self.history_params: list[dict[str, Any]] = []

    def _seen(self) -> list[tuple[datetime, str, str]]:
        return [event for event in self.events if event[0] <= self.clock.now]

    def describe_alarms(self, **params: Any) -> dict[str, Any]:
        self.looks += 1
        assert params["AlarmNames"] == [ALARM]
        if not self.exists:
            return {"MetricAlarms": [], "CompositeAlarms": []}
        seen = self._seen()
        at, state, reason = seen[-1] if seen else (START - timedelta(days=1), "OK", "fine")
        alarm = {"StateValue": state, "StateReason": reason, "StateUpdatedTimestamp": at}
        return {"MetricAlarms": [{"AlarmName": ALARM, **alarm}], "CompositeAlarms": []}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "describe_alarm_history"
        fake = self

        class Paginator:
            def paginate(self, **params: Any) -> list[dict[str, Any]]:
                fake.history_params.append(params)
                if fake.history_error:
                    raise fake.history_error
                items, previous = [], "OK"
                for at, state, reason in fake._seen():
                    if at >= params["StartDate"]:
                        items.append(_item(at, state, reason, old=previous))
                    previous = state
                return [{"AlarmHistoryItems": items[:1]}, {"AlarmHistoryItems": items[1:]}]

        return Paginator()


def _watch(cloudwatch: FakeCloudWatch, clock: Clock, window: BakeWindow = WINDOW) -> None:
    watch_alarm(cloudwatch, ALARM, window, WHERE, poll_seconds=60, clock=clock, sleep=clock.sleep)


def test_a_quiet_alarm_is_watched_until_the_window_ends() -> None:
    clock = Clock(START + timedelta(minutes=2, seconds=30))
    cloudwatch = FakeCloudWatch(clock)
    _watch(cloudwatch, clock)
    assert clock.now == WINDOW.end
    assert sum(clock.sleeps) == 27.5 * 60
    assert max(clock.sleeps) == 60 and clock.sleeps[-1] == 30
    assert cloudwatch.looks == len(clock.sleeps) + 1
    assert cloudwatch.history_params[0] == {
        "AlarmName": ALARM,
        "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        "HistoryItemType": "StateUpdate",
        "StartDate": START,
        "ScanBy": "TimestampAscending",
    }


def test_an_ended_window_is_one_look_and_no_wait() -> None:
    clock = Clock(WINDOW.end + timedelta(hours=2))
    cloudwatch = FakeCloudWatch(clock)
    _watch(cloudwatch, clock)
    assert (clock.sleeps, cloudwatch.looks) == ([], 1)


def test_the_first_alarm_in_the_window_fails_when_it_is_seen() -> None:
    fired = START + timedelta(minutes=3, seconds=20)
    clock = Clock(START)
    cloudwatch = FakeCloudWatch(clock, [(fired, "ALARM", "Threshold Crossed: 1 datapoint [2.0]")])
    with pytest.raises(CheckFailed) as failed:
        _watch(cloudwatch, clock)
    assert str(failed.value) == (
        f"alarm {ALARM}: went into ALARM at 2026-12-02T10:03:20Z, 3 min after the deploy "
        f"(bake window {SPAN[1:]}: Threshold Crossed: 1 datapoint [2.0] {AT}"
    )
    assert clock.now == START + timedelta(minutes=4)


def test_an_alarm_that_fired_and_recovered_between_two_looks_fails_from_its_history() -> None:
    clock = Clock(START)
    events = [
        (START + timedelta(minutes=10, seconds=5), "ALARM", "spike"),
        (START + timedelta(minutes=10, seconds=40), "OK", "recovered"),
    ]
    with pytest.raises(
        CheckFailed, match=r"went into ALARM at 2026-12-02T10:10:05Z, 10 min after the deploy"
    ):
        _watch(FakeCloudWatch(clock, events), clock)


def test_an_alarm_already_firing_when_the_window_opens() -> None:
    clock = Clock(START + timedelta(seconds=10))
    events = [(START - timedelta(minutes=5), "ALARM", "still failing")]
    with pytest.raises(CheckFailed) as failed:
        _watch(FakeCloudWatch(clock, events), clock)
    assert str(failed.value) == (
        f"alarm {ALARM}: in ALARM since 2026-12-02T09:55:00Z, before the deploy, and still "
        f"(bake window 2026-12-02T10:00:00Z to 2026-12-02T10:30:00Z): still failing {AT}"
    )
    assert clock.sleeps == []


def test_an_alarm_in_the_first_minute_says_so() -> None:
    clock = Clock(START + timedelta(minutes=1))
    events = [(START + timedelta(seconds=20), "ALARM", "early")]
    with pytest.raises(CheckFailed, match="under a minute after the deploy"):
        _watch(FakeCloudWatch(clock, events), clock)


def test_an_alarm_seen_after_the_window_ended_still_fails() -> None:
    """A bake that looks late (the window ended before the run) still sees what fired after
    the deploy: an alarm is never a pass because the look came late."""
    clock = Clock(WINDOW.end + timedelta(minutes=5))
    events = [(WINDOW.end + timedelta(minutes=1), "ALARM", "later")]
    with pytest.raises(CheckFailed, match="31 min after the deploy"):
        _watch(FakeCloudWatch(clock, events), clock)
    assert clock.sleeps == []


def test_a_missing_alarm_fails() -> None:
    clock = Clock(START)
    with pytest.raises(CheckFailed) as failed:
        _watch(FakeCloudWatch(clock, exists=False), clock)
    assert str(failed.value) == f"alarm {ALARM}: not found {AT}"


def test_history_cloudwatch_cannot_give_is_inconclusive() -> None:
    clock = Clock(WINDOW.end)
    response: Any = {
        "Error": {"Code": "InternalFailure", "Message": "try later"},
        "ResponseMetadata": {"HTTPStatusCode": 500},
    }
    error = bex.ClientError(response, "DescribeAlarmHistory")
    with pytest.raises(CheckInconclusive, match=f"alarm {ALARM}: could not be checked: HTTP 500"):
        _watch(FakeCloudWatch(clock, history_error=error), clock)


def test_several_alarms_wait_the_window_once_in_total() -> None:
    clock = Clock(START)
    for _ in range(3):
        _watch(FakeCloudWatch(clock), clock)
    assert clock.now == WINDOW.end
    assert sum(clock.sleeps) == 30 * 60


# ---------------------------------------------------------------- moto's history, emulated


def test_the_emulated_history_is_transitions_in_aws_shape() -> None:
    states = [
        ("OK", "Unchecked: Initial alarm creation", START),
        ("ALARM", "injected", START + timedelta(minutes=1)),
        ("ALARM", "injected again", START + timedelta(minutes=2)),
        ("OK", "back", START + timedelta(minutes=3)),
    ]
    items = state_updates(states, ALARM)
    assert [(i["Timestamp"], i["HistorySummary"]) for i in items] == [
        (START + timedelta(minutes=1), "Alarm updated from OK to ALARM"),
        (START + timedelta(minutes=3), "Alarm updated from ALARM to OK"),
    ]
    assert json.loads(items[0]["HistoryData"])["newState"] == {
        "stateValue": "ALARM",
        "stateReason": "injected",
    }
    assert alarm_entries(items, START) == [(START + timedelta(minutes=1), "injected")]
