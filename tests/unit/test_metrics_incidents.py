"""One incident is one rollback, however many attempts; every way a rollback is applied
counts; durations run from the detection, flagged when none was recorded.

Each history is written the way the writers write it (tests/rollback_records.py), read
back through the store, and every expected figure is worked out here from the minutes
the test chose.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rollback_records import MIN, SEC, Audit, at

from pytest_ohpen.metrics import figures, render_json
from pytest_ohpen.metrics.attempt import FAILED, NO_OUTCOME, REFUSED, RESTORED, VERIFY_FAILED
from pytest_ohpen.metrics.figures import DRILLS, DRY_RUNS, Metrics
from pytest_ohpen.metrics.figures import REFUSED as NOT_APPLIED
from pytest_ohpen.metrics.targets import targets

NOW = at(9, 30, 12)
SINCE = at(5, 1, 0)


@pytest.fixture
def audit(tmp_path: Path) -> Audit:
    return Audit(tmp_path / "audit")


def compute(audit: Audit, since: datetime = SINCE) -> Metrics:
    return figures.compute(audit.store.records(environment="prod"), since, NOW, "prod")


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


# ---------------------------------------------------------------- many attempts, one incident


def test_seven_attempts_at_one_failure_are_one_rollback_with_every_attempt_listed(
    audit: Audit,
) -> None:
    """The trigger's apply fails; the operator retries: refused (a pipeline runs), applied
    with failing smoke tests, a plan that failed, two more failures, then one that restores.
    The operator passes the detection time on one retry only; the others are retries."""
    detected = at(7, 1, 10)

    def command(started: datetime) -> None:
        audit.terraform(started, 3, initiated_by="trigger", detected=detected, outcome="failed")

    audit.trigger(detected, 4, exit_code=1, command=command)
    audit.terraform(at(7, 1, 10, 20), 1, outcome="refused: blocked by running_pipeline: ...")
    audit.terraform(
        at(7, 1, 10, 40), 10, detected=detected, verification="smoke tests failed (exit code 1)"
    )
    audit.terraform(at(7, 1, 11, 0), 2, outcome="failed")
    audit.terraform(at(7, 1, 11, 10), 2, outcome="failed, pre-rollback state restored")
    audit.terraform(at(7, 1, 11, 20), 2, outcome="failed")
    audit.terraform(at(7, 1, 11, 30), 8)  # restored, smoke tests passed at 11:38

    m = compute(audit)

    assert len(m.rollbacks) == 1
    (rollback,) = m.rollbacks
    assert [a.result for a in rollback.attempts] == [
        FAILED,
        REFUSED,
        VERIFY_FAILED,
        FAILED,
        FAILED,
        FAILED,
        RESTORED,
    ]
    first = rollback.attempts[0]
    assert first.via_trigger and first.automated
    assert any(r.startswith("rollback_trigger/") for r in first.records)  # folded in
    assert rollback.outcome == "restored by attempt 7"
    assert not rollback.first_attempt_success
    assert m.first_attempt_successes == 0 and m.first_attempt_success_rate == 0
    assert not rollback.automated  # the operator restored it
    assert rollback.clock_start == "detection"
    assert minutes(rollback.duration_seconds) == 98  # 10:00 detected, 11:38 restored
    assert m.manual == figures.DurationStats(1, 98 * 60, 98 * 60)
    assert m.automated.count == 0
    assert m.per_month["2024-07"] == 1 and m.per_quarter["2024-Q3"] == 1
    assert m.attempts == 7


def test_the_first_applied_attempt_decides_first_attempt_success_not_a_refusal(
    audit: Audit,
) -> None:
    detected = at(6, 3, 9)
    audit.terraform(at(6, 3, 9, 5), 1, detected=detected, outcome="refused: the lock is held")
    audit.terraform(at(6, 3, 9, 20), 5, detected=detected)

    (rollback,) = compute(audit).rollbacks

    assert [a.result for a in rollback.attempts] == [REFUSED, RESTORED]
    assert rollback.first_attempt_success


def test_refusals_alone_and_dry_runs_are_not_rollbacks(audit: Audit) -> None:
    audit.terraform(at(6, 1), 1, outcome="refused: blocked by running_pipeline")
    audit.trigger(at(6, 5), 1, mode="dry-run")

    m = compute(audit)

    assert m.rollbacks == ()
    assert m.not_counted == {NOT_APPLIED: 1, DRY_RUNS: 1}


def test_a_later_detection_is_a_new_incident_and_a_restored_one_takes_no_retry(
    audit: Audit,
) -> None:
    audit.terraform(at(6, 1, 10), 5, detected=at(6, 1, 9, 55), outcome="failed")
    audit.terraform(at(6, 1, 11), 5, detected=at(6, 1, 10, 50))  # a new failure
    audit.terraform(at(6, 1, 11, 30), 5)  # after a restore: a rollback of its own

    m = compute(audit)

    assert [len(r.attempts) for r in m.rollbacks] == [1, 1, 1]
    assert [r.restored for r in m.rollbacks] == [False, True, True]


def test_a_retry_more_than_six_hours_after_the_last_attempt_is_a_new_incident(
    audit: Audit,
) -> None:
    audit.terraform(at(6, 1, 8), 10, outcome="failed")
    audit.terraform(at(6, 1, 14, 11), 5)  # 6 h 1 min after 08:10

    assert [len(r.attempts) for r in compute(audit).rollbacks] == [1, 1]


# ---------------------------------------------------------------- every way it is applied


def test_a_rollback_applied_by_the_trigger_alone_counts_as_automated(audit: Audit) -> None:
    """The trigger ran a command that writes no record of its own (a custom script)."""
    audit.trigger(at(7, 2, 10), 6)

    m = compute(audit)

    (rollback,) = m.rollbacks
    assert rollback.automated and rollback.restored
    assert [a.method for a in rollback.attempts] == ["trigger command"]
    # from the detection the trigger recorded, to its finished record: 30 s + 6 min
    assert rollback.duration_seconds == 6.5 * 60
    assert m.automated.median_seconds == 6.5 * 60 and m.automated.from_command_start == 0


def test_the_trigger_and_the_command_it_ran_are_one_attempt(audit: Audit) -> None:
    detected = at(7, 3, 10)
    audit.trigger(
        detected,
        5,
        command=lambda t: audit.terraform(t, 4, initiated_by="trigger", detected=detected),
    )

    (rollback,) = compute(audit).rollbacks

    (attempt,) = rollback.attempts
    assert attempt.method == "rollback terraform" and attempt.automated
    assert [r.split("/")[0] for r in attempt.records] == [
        "rollback_trigger",
        "rollback_trigger",
        "rollback_terraform",
        "incident",
    ]
    assert minutes(rollback.duration_seconds) == 4.5 + 5 / 60  # detected, +35 s, +4 min


def test_a_state_restore_run_by_the_trigger_is_one_automated_rollback(audit: Audit) -> None:
    detected = at(7, 4, 10)
    audit.trigger(
        detected,
        2,
        command=lambda t: audit.state_restore(t, 1, initiated_by="trigger", detected=detected),
    )

    m = compute(audit)

    (rollback,) = m.rollbacks
    (attempt,) = rollback.attempts
    assert (attempt.method, attempt.result, rollback.automated) == ("state restore", RESTORED, True)
    assert rollback.duration_seconds == (35 * SEC + MIN).total_seconds()


def test_old_records_without_the_new_links_are_still_one_attempt(audit: Audit) -> None:
    """Written before the trigger recorded detected_at and state restores initiated_by:
    the restore ran inside the trigger's run, so it is the trigger's; without a detection
    time the duration is from the command's start, and says so."""
    audit.trigger(
        at(7, 5, 10),
        2,
        old=True,
        command=lambda t: audit.state_restore(t, 1, initiated_by=None, old=True),
    )

    m = compute(audit)

    (rollback,) = m.rollbacks
    assert len(rollback.attempts) == 1 and rollback.automated
    assert rollback.clock_start == "command start"
    assert m.automated.from_command_start == 1
    detail = {t.name: t.detail for t in targets(m)}["automated rollback duration (median)"]
    assert "timed from the command's start (no detection time recorded)" in detail


def test_a_manual_state_restore_counts_from_its_detected_at(audit: Audit) -> None:
    audit.state_restore(at(6, 10, 10, 20), 2, detected=at(6, 10, 10))

    (rollback,) = compute(audit).rollbacks

    assert not rollback.automated
    assert minutes(rollback.duration_seconds) == 22


def test_a_state_restore_without_an_outcome_or_that_failed_restored_nothing(
    audit: Audit,
) -> None:
    audit.state_restore(at(6, 11, 10), None)  # interrupted: started record only
    audit.state_restore(at(6, 11, 10, 5), 1, status="failed")
    audit.state_restore(at(6, 11, 10, 10), 1, status="incomplete")

    (rollback,) = compute(audit).rollbacks  # retries of one failure

    assert [a.result for a in rollback.attempts] == [NO_OUTCOME, FAILED, "incomplete"]
    assert not rollback.restored and rollback.duration_seconds is None
    assert "the state changed" in rollback.attempts[1].outcome


def test_data_rollbacks_are_their_own_kind_apart_from_the_infrastructure(audit: Audit) -> None:
    audit.data_rollback(at(6, 12, 10, 10), 3, detected=at(6, 12, 10))
    audit.data_rollback(at(6, 12, 11), 1, status="failed", layer="gold")
    audit.data_rollback(at(6, 12, 11, 5), 2, layer="gold")  # the gold retry
    audit.terraform(at(6, 13), 5)

    m = compute(audit)

    assert len(m.rollbacks) == 1 and m.per_quarter["2024-Q2"] == 1  # infrastructure only
    assert [len(r.attempts) for r in m.data_rollbacks] == [1, 2]
    assert [r.attempts[0].scope for r in m.data_rollbacks] == ["silver", "gold"]
    assert m.data_duration.count == 2
    assert m.data_duration.median_seconds == (13 * 60 + 7 * 60) / 2
    document = render_json.to_json(m)
    assert '"data_rollbacks"' in document


def test_drill_rollbacks_are_not_production_rollbacks(audit: Audit) -> None:
    audit.drill(at(8, 1, 10))
    audit.terraform(at(8, 1, 10, 5), 3, initiated_by="drill")
    audit.state_restore(at(8, 1, 10, 9), 1, initiated_by=None, old=True)  # during the drill

    m = compute(audit)

    assert m.rollbacks == ()
    assert m.not_counted == {DRILLS: 2}
    assert len(m.drills) == 1


# ---------------------------------------------------------------- MTTR without deployments


def test_mttr_starts_at_the_detection_without_deployment_records_and_says_so(
    audit: Audit,
) -> None:
    audit.terraform(at(6, 1, 10, 10), 20, detected=at(6, 1, 10))  # 30 min, smoke passed
    audit.terraform(at(6, 2, 10), 15, verification="not run")  # no detection, not verified
    audit.known_good(at(6, 2, 10, 25))  # a green run 10 min after the restore

    m = compute(audit)

    assert [r.mttr_start for r in m.rollbacks] == ["detection", "command start"]
    assert [r.green_source.split()[0] for r in m.rollbacks] == ["smoke", "known-good"]
    assert [minutes(r.recovery_seconds) for r in m.rollbacks] == [30, 25]
    assert m.mttr_starts == {"detection": 1, "command start": 1}
    assert m.mttr_unverified == 0


def test_a_restore_never_verified_green_stops_the_mttr_at_the_restore_flagged(
    audit: Audit,
) -> None:
    audit.state_restore(at(6, 1, 10), 4, detected=at(6, 1, 9, 56))

    m = compute(audit)

    assert minutes(m.mttr_mean_seconds) == 8
    assert m.mttr_unverified == 1
    detail = {t.name: t.detail for t in targets(m)}["MTTR (mean)"]
    assert "1 to the restore (no green verification recorded)" in detail


def test_the_window_places_an_incident_by_its_first_attempt(audit: Audit) -> None:
    audit.terraform(at(4, 30, 23, 50), 5, outcome="failed")  # before the window
    audit.terraform(at(5, 1, 0, 10), 5)  # its retry, inside the window

    assert compute(audit).rollbacks == ()
    assert len(compute(audit, since=at(4, 1)).rollbacks) == 1


def test_attempts_of_one_incident_are_listed_in_the_json(audit: Audit) -> None:
    detected = at(7, 1, 10)
    audit.terraform(at(7, 1, 10, 5), 2, detected=detected, outcome="failed")
    audit.terraform(at(7, 1, 10, 15), 2, detected=detected)

    import json

    document = json.loads(render_json.to_json(compute(audit)))

    (item,) = document["rollbacks"]["items"]
    assert item["attempt_count"] == 2
    assert [a["result"] for a in item["attempts"]] == [FAILED, RESTORED]
    assert item["incident_key"] == "detected-2024-07-01T10:00:00Z"
    assert item["duration_seconds"] == (timedelta(minutes=17)).total_seconds()
    assert document["rollbacks"]["attempts"] == 2
