"""The rollback metrics, recomputed by hand from audit histories written through the store.

Every history is written with ``AuditStore.write`` (the store's clock set to each record's
finish), read back with ``records()``, and each expected figure is worked out in the test
from the minutes the test chose, so a wrong rule shows up as a wrong number.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_ohpen.metrics import figures, render
from pytest_ohpen.metrics.figures import Metrics, MetricsWarning
from pytest_ohpen.metrics.publish import publish
from pytest_ohpen.metrics.targets import TargetResult, breached, targets
from pytest_ohpen.records.store import AuditRecord, AuditStore

NOW = datetime(2024, 9, 30, 12, 0, tzinfo=UTC)
SINCE = datetime(2024, 5, 1, tzinfo=UTC)
MIN = 60.0


def day(month: int, dom: int, hour: int = 10) -> datetime:
    return datetime(2024, month, dom, hour, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class History:
    """An audit directory for "prod"; each record is stamped with its own finish time."""

    def __init__(self, directory: Path) -> None:
        self.at = SINCE
        self.store = AuditStore(directory, clock=lambda: self.at)

    def incident(
        self,
        started: datetime,
        took: float,
        *,
        trigger: bool = False,
        detected: float | None = None,
        mode: str = "apply",
        outcome: str = "applied",
        verification: str = "smoke tests passed",
        **overrides: Any,
    ) -> AuditRecord:
        """An incident that started at ``started`` and took ``took`` minutes; the failure
        was detected ``detected`` minutes before the start (None: not recorded)."""
        finished = started + timedelta(minutes=took)
        data: dict[str, Any] = {
            "reason": "smoke tests failed after deploy",
            "deployment_sha": "abc1234",
            "rolled_back_to": {"git_commit": "def5678", "state_version": None},
            "operator": {"USER": "ops"},
            "started_at": iso(started),
            "finished_at": iso(finished),
            "mode": mode,
            "outcome": outcome,
            "verification": verification,
            "root_cause": None,
            "prevention": None,
            "details": {"apply_seconds": took * 60},
            "initiated_by": "trigger" if trigger else "operator",
            "detected_at": None if detected is None else iso(started - timedelta(minutes=detected)),
        }
        data.update(overrides)
        self.at = finished
        return self.store.write("incident", "prod", data)

    def drill(self, started: datetime, fault: str, passed: bool = True, **overrides: Any) -> Any:
        data: dict[str, Any] = {
            "started_at": iso(started),
            "finished_at": iso(started + timedelta(minutes=30)),
            "fault": fault,
            "time_to_detect_seconds": 90,
            "rollback_seconds": 420.5,
            "time_to_green_seconds": 600,
            "first_attempt_success": passed,
            "passed": passed,
        }
        data.update(overrides)
        self.at = started + timedelta(minutes=30)
        return self.store.write("drill", "prod", data)

    def compute(self, since: datetime = SINCE, now: datetime = NOW) -> Metrics:
        return figures.compute(self.store.records(environment="prod"), since, now)


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "audit")


def by_name(results: list[TargetResult]) -> dict[str, TargetResult]:
    return {result.name: result for result in results}


QUARTER = "rollbacks per quarter"
MONTH = "rollbacks per month (alert)"
AUTOMATED = "automated rollback duration (median)"
MANUAL = "manual rollback duration (median)"
SUCCESS = "first-attempt success rate"
MTTR = "MTTR (mean)"


# ---------------------------------------------------------------- counting


def test_rollbacks_per_month_and_quarter(history: History) -> None:
    history.incident(day(4, 20), 10)  # before the window
    history.incident(day(5, 10), 20)
    history.incident(day(7, 3), 5, trigger=True)
    history.incident(day(7, 15), 5, trigger=True)
    history.incident(day(7, 20), 5, trigger=True)
    history.incident(day(8, 5), 3, mode="dry-run")
    history.incident(day(8, 6), 1, outcome="refused: the state lock is held by someone else")
    history.incident(day(9, 1), 25)
    history.incident(day(10, 2), 5)  # after now
    history.drill(day(8, 20), "glue job deleted")
    history.store.write("known_good", "prod", {"sha": "abc1234"})

    m = history.compute()

    assert m.environment == "prod"
    assert m.per_month == {"2024-05": 1, "2024-06": 0, "2024-07": 3, "2024-08": 0, "2024-09": 1}
    assert m.per_quarter == {"2024-Q2": 1, "2024-Q3": 4}
    assert len(m.rollbacks) == 5
    assert [r.started_at for r in m.rollbacks] == [
        day(5, 10),
        day(7, 3),
        day(7, 15),
        day(7, 20),
        day(9, 1),
    ]
    assert sum(r.automated for r in m.rollbacks) == 3
    assert m.ignored == 2
    assert m.skipped == 0


def test_the_window_includes_its_start_and_a_look_back_counts_from_now(history: History) -> None:
    history.incident(SINCE, 5)
    history.incident(SINCE - timedelta(seconds=1), 5)
    assert len(history.compute().rollbacks) == 1
    since = figures.window_start(figures.parse_since("30d"), NOW)
    assert since == datetime(2024, 8, 31, 12, 0, tzinfo=UTC)
    m = history.compute(since=since)
    assert m.per_month == {"2024-08": 0, "2024-09": 0}
    assert m.per_quarter == {"2024-Q3": 0}


def test_refused_and_dry_run_incidents_are_not_rollbacks(history: History) -> None:
    history.incident(day(6, 1), 3, mode="dry-run", outcome="planned")
    history.incident(day(6, 2), 2, mode="dry-run", outcome="refused: dirty working tree")
    history.incident(day(6, 3), 1, outcome="refused: target is not known-good")
    # a dry run needs no finish time: it is never measured, so never malformed
    history.incident(day(6, 4), 1, mode="dry-run", finished_at=None)

    m = history.compute()

    assert m.rollbacks == ()
    assert m.ignored == 4
    assert m.skipped == 0
    assert set(m.per_quarter.values()) == {0}
    assert m.automated == m.manual == figures.DurationStats(0, None, None)
    assert m.first_attempt_success_rate is None
    assert m.mttr_mean_seconds is None
    assert breached(targets(m)) == []


def test_a_drills_rollback_is_not_a_production_rollback(history: History) -> None:
    """The drill applies a rollback on purpose: it has its own history, not the frequency's."""
    history.incident(day(6, 1), 5, initiated_by="drill")
    history.incident(day(6, 2), 5)

    m = history.compute()

    assert len(m.rollbacks) == 1 and m.ignored == 1 and m.skipped == 0


def test_a_missing_initiator_counts_as_manual(history: History) -> None:
    history.incident(day(6, 1), 12, initiated_by=None)
    history.incident(day(6, 2), 7, trigger=True)
    record = history.incident(day(6, 3), 9, trigger=True, detected_at=None)
    data = {key: value for key, value in record.data.items() if key != "initiated_by"}
    history.store.write("incident", "prod", data | {"started_at": iso(day(6, 3, 9))})

    m = history.compute()

    assert [r.automated for r in m.rollbacks] == [False, True, False, True]
    assert (m.manual.count, m.automated.count) == (2, 2)


# ---------------------------------------------------------------- durations


def test_duration_medians_and_p90_for_automated_and_manual_apart(history: History) -> None:
    for n, minutes in enumerate([20, 4, 6]):  # odd count
        history.incident(day(6, 1 + n), minutes, trigger=True)
    for n, minutes in enumerate([30, 10, 50, 20]):  # even count
        history.incident(day(7, 1 + n), minutes)

    m = history.compute()

    # automated sorted 4, 6, 20: median the middle one; p90 rank ceil(0.9 * 3) = 3; no
    # detection time was recorded, so every sample is timed from the command's start
    assert m.automated == figures.DurationStats(3, 6 * MIN, 20 * MIN, from_command_start=3)
    # manual sorted 10, 20, 30, 50: median (20 + 30) / 2; p90 rank ceil(0.9 * 4) = 4
    assert m.manual == figures.DurationStats(4, 25 * MIN, 50 * MIN, from_command_start=4)


def test_p90_is_nearest_rank(history: History) -> None:
    for minutes in range(1, 11):  # 1..10 minutes
        history.incident(day(6, minutes), minutes)
    m = history.compute()
    # median (5 + 6) / 2; p90 rank ceil(0.9 * 10) = 9: the 9th smallest, 9 minutes
    assert m.manual == figures.DurationStats(10, 5.5 * MIN, 9 * MIN, from_command_start=10)
    assert figures.nearest_rank(list(range(1, 12)), 90) == 10  # rank ceil(9.9) = 10
    assert figures.nearest_rank([7.0], 90) == 7.0
    assert figures.nearest_rank([3, 1, 2], 50) == 2  # rank ceil(1.5) = 2
    with pytest.raises(ValueError):
        figures.nearest_rank([], 90)


def test_duration_runs_from_detection_when_it_was_recorded(history: History) -> None:
    history.incident(day(6, 1), 4, trigger=True, detected=5)  # 5 + 4 minutes
    history.incident(day(6, 2), 12)  # no detection time: from the start

    m = history.compute()

    assert [r.duration_seconds for r in m.rollbacks] == [9 * MIN, 12 * MIN]
    assert m.rollbacks[0].detected_at == day(6, 1) - timedelta(minutes=5)
    assert m.automated.median_seconds == 9 * MIN
    assert m.manual.median_seconds == 12 * MIN


# ---------------------------------------------------------------- success and MTTR


def test_first_attempt_success_rate(history: History) -> None:
    history.incident(day(6, 1), 5)
    history.incident(day(6, 2), 5, verification="not run")
    history.incident(day(6, 3), 5, verification="smoke tests failed (exit code 1)")
    history.incident(day(6, 4), 5, verification="smoke tests timed out after 600 s")
    history.incident(day(6, 5), 5, outcome="failed, pre-rollback state restored")
    history.incident(day(6, 6), 5, trigger=True)

    m = history.compute()

    assert [r.first_attempt_success for r in m.rollbacks] == [True, True, False, False, False, True]
    assert m.first_attempt_successes == 3
    assert m.first_attempt_success_rate == 3 / 6


def test_mttr_from_detection_or_start_of_successful_rollbacks(history: History) -> None:
    history.incident(day(6, 1), 20, trigger=True, detected=10)  # sample 30 min
    history.incident(day(6, 2), 15)  # no detection recorded: from the start, 15 min
    history.incident(day(6, 3), 40, detected=5, verification="smoke tests failed (exit code 1)")
    history.incident(day(6, 4), 40, outcome="failed")  # neither restored service: no sample
    history.incident(day(6, 5), 40, trigger=True, detected=2)  # sample 42 min

    m = history.compute()

    assert [r.recovery_seconds for r in m.rollbacks] == [30 * MIN, 15 * MIN, None, None, 42 * MIN]
    assert m.mttr_samples == 3
    assert m.mttr_mean_seconds == pytest.approx((30 + 15 + 42) / 3 * MIN)  # 29 min
    assert m.mttr_median_seconds == 30 * MIN

    history.incident(day(6, 6), 60)  # a fourth sample: even count
    m = history.compute()
    assert m.mttr_samples == 4
    assert m.mttr_mean_seconds == pytest.approx((30 + 15 + 42 + 60) / 4 * MIN)  # 36.75 min
    assert m.mttr_median_seconds == (30 + 42) / 2 * MIN


# ---------------------------------------------------------------- drills, bad records


def test_drills_are_listed_oldest_first(history: History) -> None:
    history.drill(day(8, 14), "state machine deleted", passed=False, rollback_seconds=None)
    history.drill(day(5, 15), "glue job deleted")
    history.drill(day(3, 1), "outside the window")

    m = history.compute()

    assert [(d.started_at, d.fault, d.passed) for d in m.drills] == [
        (day(5, 15), "glue job deleted", True),
        (day(8, 14), "state machine deleted", False),
    ]
    first = m.drills[0]
    assert first.finished_at == day(5, 15) + timedelta(minutes=30)
    assert (first.time_to_detect_seconds, first.rollback_seconds, first.time_to_green_seconds) == (
        90.0,
        420.5,
        600.0,
    )
    assert m.drills[1].rollback_seconds is None
    assert m.rollbacks == ()  # a drill is not a production rollback


NOT_A_STRING: Any = None
NOT_A_BOOL: Any = "yes"


def test_malformed_records_are_skipped_with_a_warning(history: History) -> None:
    good = history.incident(day(6, 1), 5)
    bad = [
        history.incident(day(6, 2), 5, started_at="yesterday"),
        history.incident(day(6, 3), 5, finished_at=iso(day(6, 2))),
        history.incident(day(6, 4), 5, initiated_by="cron"),
        history.incident(day(6, 5), 5, detected_at="2024-06-05T09:00:00"),  # no zone
        history.incident(day(6, 6), 5, mode=NOT_A_STRING),
        history.drill(day(6, 7), "x", passed=NOT_A_BOOL),
        history.drill(day(6, 8), "x", rollback_seconds=-1),
    ]

    with pytest.warns(MetricsWarning) as caught:
        m = history.compute()

    messages = " ".join(str(w.message) for w in caught)
    for record in bad:
        assert record.id in messages
    assert "initiated_by" in messages and "no timezone" in messages
    assert m.skipped == len(bad)
    assert [r.id for r in m.rollbacks] == [good.id]


def test_compute_refuses_an_empty_window_or_naive_times() -> None:
    with pytest.raises(ValueError, match="empty"):
        figures.compute([], NOW, NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        figures.compute([], SINCE.replace(tzinfo=None), NOW)


# ---------------------------------------------------------------- targets


def test_no_rollback_meets_the_frequency_targets_and_no_data_is_neither_met_nor_breached(
    history: History,
) -> None:
    history.drill(day(6, 1), "glue job deleted")

    results = targets(history.compute())

    assert [r.name for r in results] == [QUARTER, MONTH, AUTOMATED, MANUAL, SUCCESS, MTTR]
    assert [r.state for r in results] == ["met", "met"] + ["no data"] * 4
    assert [r.ok for r in results] == [True, True] + [False] * 4
    assert [r.value for r in results[:2]] == [0.0, 0.0]
    assert all(r.no_data and r.detail == "no data" for r in results[2:])
    assert breached(results) == []


def test_any_rollback_in_a_quarter_breaches_the_quarterly_target(history: History) -> None:
    history.incident(day(8, 1), 5, trigger=True)
    history.incident(day(8, 2), 5, trigger=True)

    results = by_name(targets(history.compute()))

    assert not results[QUARTER].ok
    assert results[QUARTER].value == 2
    assert results[QUARTER].detail == "2024-Q3: 2"
    assert results[MONTH].ok  # two in a month is no alert yet
    assert results[AUTOMATED].ok and results[SUCCESS].ok and results[MTTR].ok


def test_more_than_two_in_a_month_raise_the_alert(history: History) -> None:
    for dom in (1, 10, 20):
        history.incident(day(7, dom), 5)
    history.incident(day(8, 1), 5)

    results = by_name(targets(history.compute()))

    assert not results[MONTH].ok
    assert results[MONTH].value == 3
    assert results[MONTH].detail == "2024-07: 3"


@pytest.mark.parametrize(
    ("trigger", "minutes", "name", "ok"),
    [
        (True, 10, AUTOMATED, True),  # exactly the target is not above it
        (True, 10.5, AUTOMATED, False),
        (False, 30, MANUAL, True),
        (False, 31, MANUAL, False),
    ],
)
def test_a_duration_median_above_target_breaches(
    history: History, trigger: bool, minutes: float, name: str, ok: bool
) -> None:
    history.incident(day(6, 1), minutes - 1, trigger=trigger)
    history.incident(day(6, 2), minutes, trigger=trigger)
    history.incident(day(6, 3), minutes + 60, trigger=trigger)

    result = by_name(targets(history.compute()))[name]

    assert result.value == minutes * MIN  # the median of the three
    assert result.ok is ok
    other = MANUAL if name == AUTOMATED else AUTOMATED
    assert by_name(targets(history.compute()))[other].no_data


@pytest.mark.parametrize(("count", "ok"), [(20, False), (21, True)])
def test_a_success_rate_of_95_percent_or_less_breaches(
    history: History, count: int, ok: bool
) -> None:
    start = datetime(2024, 5, 2, tzinfo=UTC)
    history.incident(start, 5, verification="smoke tests failed (exit code 1)")
    for n in range(1, count):
        history.incident(start + timedelta(days=n), 5)

    result = by_name(targets(history.compute()))[SUCCESS]

    assert result.value == pytest.approx((count - 1) / count)  # 95 % and 95.2 %
    assert result.ok is ok
    assert result.detail.startswith(f"{count - 1}/{count} (")


@pytest.mark.parametrize(("minutes", "ok"), [(59, True), (60, False)])
def test_a_mean_mttr_of_an_hour_breaches(history: History, minutes: float, ok: bool) -> None:
    history.incident(day(6, 1), minutes - 30, detected=30)

    result = by_name(targets(history.compute()))[MTTR]

    assert result.value == minutes * MIN
    assert result.ok is ok


# ---------------------------------------------------------------- --since


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12w", timedelta(weeks=12)),
        ("6m", timedelta(days=180)),
        (" 1D ", timedelta(days=1)),
        ("2024-07-01", datetime(2024, 7, 1, tzinfo=UTC)),
        ("2024-07-01T06:30:00Z", datetime(2024, 7, 1, 6, 30, tzinfo=UTC)),
        ("2024-07-01T08:30:00+02:00", datetime(2024, 7, 1, 6, 30, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: timedelta | datetime) -> None:
    assert figures.parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "nonsense", "90", "d90", "-5d", "0d", "3y", "2024-13-01"])
def test_parse_since_rejects_anything_else_in_one_line(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        figures.parse_since(text)
    assert repr(text) in str(caught.value)
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- renderers


@pytest.fixture
def busy(history: History) -> Metrics:
    """Two automated (4 and 6 min) and one manual (40 min, smoke tests failed) rollback,
    a dry run, and two drills, one with a pipe in its fault."""
    history.incident(day(7, 1), 4, trigger=True)
    history.incident(day(7, 2), 6, trigger=True, detected=0)
    history.incident(day(7, 3), 40, verification="smoke tests failed (exit code 1)")
    history.incident(day(7, 4), 1, mode="dry-run")
    history.drill(day(8, 1), "glue | lambda deleted")
    history.drill(day(8, 2), "bucket policy", passed=False)
    return history.compute()


def squeeze(text: str) -> str:
    """Each line with its runs of spaces made one, so column widths do not matter."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def test_table(busy: Metrics) -> None:
    text = squeeze(render.to_table(busy))
    assert text.startswith("Rollback metrics: prod, 2024-05-01 00:00Z to 2024-09-30 12:00Z")
    assert (
        "3 rollbacks (2 automated, 1 manual) from 3 attempts; not restored: 1; "
        "not counted (dry runs: 1)"
    ) in text
    assert "per month: 2024-05 0 2024-06 0 2024-07 3 2024-08 0 2024-09 0" in text
    assert "per quarter: 2024-Q2 0 2024-Q3 3" in text
    assert "automated 2 5m 00s 6m 00s 1 0" in text  # one timed from the command's start
    assert "manual 0 - - 0 1" in text  # its smoke tests failed: not restored, no duration
    assert "first-attempt success: 2/3 (66.7 %)" in text
    assert (
        "MTTR (failed deployment to green): mean 5m 00s, median 5m 00s "
        "(2 recoveries; from: 1 command start, 1 detection)"
    ) in text
    assert "2024-08-01 glue | lambda deleted passed yes 1m 30s 7m 00s 10m 00s" in text
    assert "2024-08-02 bucket policy FAILED no" in text
    assert "BREACH rollbacks per quarter 2024-Q3: 3 target < 1 per quarter" in text
    assert "BREACH rollbacks per month (alert) 2024-07: 3 target alert at > 2 per month" in text
    assert (
        "ok automated rollback duration (median) 5m 00s over 2; 1 timed from the command's "
        "start (no detection time recorded) target < 10 min"
    ) in text
    assert (
        "NO DATA manual rollback duration (median) no data; 1 not restored (no duration) "
        "target < 30 min"
    ) in text
    assert "manual not restored (last attempt: applied, verification failed) -" in text
    assert "BREACH first-attempt success rate 2/3 (66.7 %) target > 95 %" in text
    assert (
        "ok MTTR (mean) 5m 00s over 2 recoveries (from: 1 command start, 1 detection) target < 1 h"
    ) in text


def test_json_has_the_schema_version_and_every_figure(busy: Metrics) -> None:
    document = json.loads(render.to_json(busy))
    assert document["schema_version"] == 3
    assert document["environment"] == "prod"
    assert (document["since"], document["now"]) == ("2024-05-01T00:00:00Z", "2024-09-30T12:00:00Z")
    assert document["ok"] is False
    rollbacks = document["rollbacks"]
    assert (rollbacks["count"], rollbacks["automated"], rollbacks["manual"]) == (3, 2, 1)
    assert rollbacks["ignored"] == 1
    assert rollbacks["per_month"]["2024-07"] == 3
    assert rollbacks["per_quarter"] == {"2024-Q2": 0, "2024-Q3": 3}
    assert [item["duration_seconds"] for item in rollbacks["items"]] == [240, 360, None]
    assert [item["elapsed_seconds"] for item in rollbacks["items"]] == [240, 360, 2400]
    assert [item["clock_start"] for item in rollbacks["items"]] == [
        "command start",
        "detection",
        "command start",
    ]
    assert rollbacks["items"][2]["recovery_seconds"] is None
    assert [len(item["attempts"]) for item in rollbacks["items"]] == [1, 1, 1]
    assert rollbacks["not_counted"] == {"dry runs": 1}
    assert document["duration"]["automated"] == {
        "count": 2,
        "median_seconds": 300.0,
        "p90_seconds": 360.0,
        "from_command_start": 1,
        "not_restored": 0,
    }
    assert document["first_attempt_success"] == {"successes": 2, "count": 3, "rate": 2 / 3}
    assert document["mttr"] == {
        "samples": 2,
        "mean_seconds": 300.0,
        "median_seconds": 300.0,
        "starts": {"command start": 1, "detection": 1},
        "unverified": 0,
    }
    assert [d["fault"] for d in document["drills"]] == ["glue | lambda deleted", "bucket policy"]
    targets = {t["name"]: t for t in document["targets"]}
    assert targets[QUARTER]["ok"] is False and targets[QUARTER]["value"] == 3
    assert targets[AUTOMATED] == {
        "name": AUTOMATED,
        "value": 300.0,
        "target": "< 10 min",
        "state": "met",
        "ok": True,
        "no_data": False,
        "detail": "5m 00s over 2; 1 timed from the command's start (no detection time recorded)",
    }


def test_markdown(busy: Metrics) -> None:
    text = render.to_markdown(busy)
    assert text.startswith("# Rollback metrics: prod\n")
    assert "| rollbacks per quarter | 2024-Q3: 3 | < 1 per quarter | **breached** |" in text
    assert (
        "| automated rollback duration (median) | 5m 00s over 2; 1 timed from the command's "
        "start (no detection time recorded) | < 10 min | met |"
    ) in text
    assert "| 2024-07 | 3 |" in text
    assert "| Automated | 2 | 5m 00s | 6m 00s | 1 | 0 |" in text
    assert "glue \\| lambda deleted" in text  # a pipe would split the table row


def test_renderers_without_data(history: History) -> None:
    empty = history.compute()
    assert "drills: none in the window" in render.to_table(empty)
    assert "No drill in the window." in render.to_markdown(empty)
    document = json.loads(render.to_json(empty))
    assert (document["ok"], document["state"]) == (False, "no data")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0, "0s"), (45.4, "45s"), (500, "8m 20s"), (3900, "1h 05m 00s")],
)
def test_duration_text(seconds: float | None, text: str) -> None:
    assert figures.duration_text(seconds) == text


def test_publish_sends_only_measured_figures(busy: Metrics, history: History) -> None:
    sent: list[dict[str, Any]] = []

    class CloudWatch:
        def put_metric_data(self, **kwargs: Any) -> None:
            assert kwargs["Namespace"] == "Ohpen/Rollback"
            sent.extend(kwargs["MetricData"])

    publish(CloudWatch(), "prod", busy)
    values = {
        (p["MetricName"], tuple(d["Value"] for d in p["Dimensions"])): (p["Value"], p["Unit"])
        for p in sent
    }
    assert values == {
        ("RollbackCount", ("prod",)): (3.0, "Count"),
        ("RollbackDurationMedianSeconds", ("prod", "Automated")): (300.0, "Seconds"),
        ("FirstAttemptSuccessRate", ("prod",)): (pytest.approx(200 / 3), "Percent"),
        ("MTTRSeconds", ("prod",)): (300.0, "Seconds"),
    }
    assert all(p["Timestamp"] == NOW for p in sent)

    sent.clear()
    publish(CloudWatch(), "prod", history.compute(since=day(9, 1)))
    assert [(p["MetricName"], p["Value"]) for p in sent] == [("RollbackCount", 0.0)]
