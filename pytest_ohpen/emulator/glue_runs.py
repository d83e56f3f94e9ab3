"""Glue job runs with real durations in the embedded account.

moto gives every run CompletedOn == StartedOn (set when the run is created) and an
ExecutionTime of 123, so a duration check could never see a slow run. ``install`` makes a
run's CompletedOn the moment it was first seen SUCCEEDED or FAILED and its ExecutionTime the
whole seconds from StartedOn to then (with moto's state manager on ``"progression":
"time"`` runs last for real). ``seed_runs`` gives a job a history of completed runs of given
durations, written straight into moto's backend: the embedded account's server runs in
this process, and no API sets a run's times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"})
"""Run states after which a run no longer runs (it has a CompletedOn)."""
HISTORY = (64.0, 61.0, 70.0, 66.0, 62.0)
"""Seconds each of a job's seeded runs took, oldest first: a steady daily job."""
SPACING = timedelta(days=1)
"""Between two seeded runs' completions (the ETL runs daily)."""
_MARK = "_ohpen_real_durations"
_COMPLETED = "_ohpen_completed_on"


def _utcnow() -> datetime:
    """moto's clock: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _mark_completed(run: Any, status: object) -> None:
    if status in TERMINAL and getattr(run, _COMPLETED, None) is None:
        setattr(run, _COMPLETED, _utcnow())


def install() -> None:
    """Patch moto's FakeJobRun (once per process) so runs report when they completed and
    how long they took."""
    from moto.glue.models import FakeJobRun
    from moto.moto_api._internal.managed_state_model import ManagedState

    if getattr(FakeJobRun, _MARK, False):
        return
    inherited: property = ManagedState.status  # type: ignore[assignment]
    original_as_dict = FakeJobRun.as_dict

    def get_status(run: Any) -> Any:
        status = inherited.fget(run) if inherited.fget else None
        _mark_completed(run, status)
        return status

    def set_status(run: Any, value: Any) -> None:
        if inherited.fset:
            inherited.fset(run, value)
        _mark_completed(run, value)

    def as_dict(run: Any) -> dict[str, Any]:
        answer = original_as_dict(run)  # reads the status: a finished run is marked now
        completed = getattr(run, _COMPLETED, None)
        if completed is None:  # still running: AWS has no CompletedOn yet
            answer.pop("CompletedOn", None)
            answer["ExecutionTime"] = 0
        else:
            answer["CompletedOn"] = completed
            answer["LastModifiedOn"] = completed
            answer["ExecutionTime"] = int((completed - run.started_on).total_seconds())
        return answer

    patches = {"status": property(get_status, set_status), "as_dict": as_dict, _MARK: True}
    for name, value in patches.items():
        setattr(FakeJobRun, name, value)


def run_times(durations: Sequence[float], end: datetime) -> list[tuple[datetime, datetime]]:
    """(StartedOn, CompletedOn) of runs of these durations, oldest first, one a day, the
    newest completing at ``end``. Pure."""
    count = len(durations)
    times = []
    for index, seconds in enumerate(durations):
        completed = end - SPACING * (count - 1 - index)
        times.append((completed - timedelta(seconds=seconds), completed))
    return times


def seed_runs(
    account_id: str,
    region: str,
    job: str,
    durations: list[float],
    *,
    end: datetime | None = None,
) -> list[str]:
    """Add SUCCEEDED runs of ``durations`` seconds (oldest first) to ``job`` in moto's
    in-process backend, one a day, the newest completing at ``end`` (default now); their
    run ids. They must be newer than the job's runs so far (the newest run is the one a
    check judges): ValueError otherwise. LookupError when the job does not exist there."""
    from moto.glue.models import FakeJobRun, glue_backends

    install()
    found = glue_backends[account_id][region].jobs.get(job)
    if found is None:
        raise LookupError(f"Glue job {job}: not found in account {account_id} {region}")
    times = run_times(durations, _naive_utc(end or _utcnow()))
    newest = max((run.started_on for run in found.job_runs), default=None)
    if times and newest is not None and times[0][0] <= newest:
        raise ValueError(
            f"Glue job {job}: seeded runs would start before its newest run ({newest:%F %T}); "
            "give an end later than that"
        )
    ids = []
    for started, completed in times:
        run = FakeJobRun(
            job_name=job,
            arguments=dict(found.default_arguments or {}),
            allocated_capacity=found.allocated_capacity,
            max_capacity=found.max_capacity,
            timeout=found.timeout,
            worker_type=found.worker_type,
            number_of_workers=found.number_of_workers,
        )
        run.status = "SUCCEEDED"
        setattr(run, _COMPLETED, completed)
        run.started_on = started
        run.modified_on = completed
        found.job_runs.append(run)
        ids.append(run.job_run_id)
    return ids


def seed_history(account_id: str, region: str, jobs: Iterable[str]) -> None:
    """Give each job that exists the steady ``HISTORY`` of runs, the newest completed a
    day ago (so a run seeded or started now is the newest)."""
    for job in jobs:
        try:
            seed_runs(account_id, region, job, list(HISTORY), end=_utcnow() - SPACING)
        except LookupError:
            continue  # left out of this account (--emulator-omit)
