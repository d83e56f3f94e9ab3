"""Audit histories as the rollback writers leave them, for the metrics tests.

Each method writes the records one real run writes, in the order and at the times it
writes them (the store's clock set to each record's moment), with the data the writers
build: the incident through ``rollback.incident.incident_data``, the trigger's through
``readiness.render.trigger_data``, the state restore's, data rollback's and deployment's
with the keys their commands write. ``old=True`` leaves out what the writers added for
the metrics (``incident_key``, the trigger's ``detected_at``, ``initiated_by`` on state
restores and data rollbacks), as records written before it look.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_ohpen.readiness.render import trigger_data
from pytest_ohpen.readiness.report import TriggerRecord
from pytest_ohpen.records.store import AuditRecord, AuditStore
from pytest_ohpen.rollback.incident import incident_data, incident_key
from pytest_ohpen.util.jsonable import iso_utc

ENV = "prod"
OPERATOR = {"aws_caller": "arn:aws:iam::123456789012:user/ops", "USER": "ops"}
DEPLOYED, TARGET = "abc1234def5678", "0123456789ab"
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)


def at(month: int, dom: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2024, month, dom, hour, minute, tzinfo=UTC)


class Audit:
    """An audit store of environment "prod" that the test writes histories into."""

    def __init__(self, directory: Path, **s3: Any) -> None:
        self.now = at(1, 1)
        self.store = AuditStore(directory, clock=lambda: self.now, **s3)

    def write(self, kind: str, moment: datetime, data: dict[str, Any]) -> AuditRecord:
        self.now = moment
        return self.store.write(kind, ENV, data)

    # ------------------------------------------------------------ ohpen rollback terraform

    def terraform(
        self,
        started: datetime,
        minutes: float,
        *,
        initiated_by: str = "operator",
        detected: datetime | None = None,
        outcome: str = "applied",
        verification: str | None = None,
        deployed: str = DEPLOYED,
        old: bool = False,
    ) -> AuditRecord:
        """``ohpen rollback terraform --apply --verify``: its started record (unless refused
        before it), then the incident (smoke tests passed after an apply, unless told)."""
        finished = started + timedelta(minutes=minutes)
        detected_at = iso_utc(detected) if detected else None
        if verification is None:  # --verify ran only after an apply
            verification = "smoke tests passed" if outcome == "applied" else "not run"
        started_record = None
        if not outcome.startswith("refused"):
            started_record = self.write(
                "rollback_terraform",
                started + 20 * SEC,
                {
                    "status": "started",
                    "reason": "smoke tests failed after deployment",
                    "deployed_commit": deployed,
                    "target_ref": "HEAD~1",
                    "target_commit": TARGET,
                    "operator": OPERATOR,
                    "initiated_by": initiated_by,
                    "detected_at": detected_at,
                },
            ).id
        data = incident_data(
            reason="smoke tests failed after deployment",
            deployment_sha=deployed,
            restored_sha=TARGET,
            restored_state_version="v-restored",
            operator=OPERATOR,
            started_at=iso_utc(started),
            finished_at=iso_utc(finished),
            mode="apply",
            outcome=outcome,
            verification=verification,
            details={"target_ref": "HEAD~1", "started_record": started_record},
            initiated_by=initiated_by,
            detected_at=detected_at,
        )
        if old:
            del data["incident_key"]
        return self.write("incident", finished, data)

    # ------------------------------------------------------------ the plugin's trigger

    def trigger(
        self,
        detected: datetime,
        minutes: float,
        *,
        exit_code: int = 0,
        command: Callable[[datetime], object] | None = None,
        old: bool = False,
        mode: str = "apply",
    ) -> AuditRecord:
        """A failed run's trigger: started 30 s after the detection, ``command`` (which
        writes the command's own records) run at once, finished ``minutes`` later."""
        begun = detected + 30 * SEC
        record = TriggerRecord(
            requested="apply",
            mode=mode,
            approved_by="lead",
            command=("scripts/rollback_terraform.sh", "--env", ENV, "--apply"),
        )
        detected_at = iso_utc(detected)
        base = {
            **trigger_data(record),
            "operator": OPERATOR,
            "verdict": "READY",
            **(
                {}
                if old
                else {"detected_at": detected_at, "incident_key": incident_key(detected_at)}
            ),
        }
        started = None
        if mode == "apply":
            started = self.write("rollback_trigger", begun, {**base, "status": "started"}).id
        if command is not None:
            command(begun + 5 * SEC)
        done = begun + timedelta(minutes=minutes)
        finished = {
            **base,
            "exit_code": exit_code,
            "duration_seconds": minutes * 60,
            "timed_out": False,
            "status": "finished",
            **({"started_record": started} if started else {}),
        }
        return self.write("rollback_trigger", done, finished)

    # ------------------------------------------------------------ state restore, data rollback

    def _pair(
        self,
        kind: str,
        started: datetime,
        minutes: float | None,
        status: str,
        data: dict[str, Any],
        *,
        initiated_by: str | None,
        detected: datetime | None,
        old: bool,
    ) -> AuditRecord:
        detected_at = iso_utc(detected) if detected else None
        extra = (
            {}
            if old
            else {
                "initiated_by": initiated_by,
                "detected_at": detected_at,
                "incident_key": incident_key(detected_at),
            }
        )
        first = self.write(kind, started, {"status": "started", **data, **extra})
        if minutes is None:
            return first
        outcome = {**data, **extra, "status": status, "started_record": first.id}
        if status == "failed":
            outcome["error"] = "the state changed since it was read"
        return self.write(kind, started + timedelta(minutes=minutes), outcome)

    def state_restore(
        self,
        started: datetime,
        minutes: float | None,
        *,
        status: str = "applied",
        initiated_by: str | None = "operator",
        detected: datetime | None = None,
        old: bool = False,
    ) -> AuditRecord:
        """``ohpen state restore VERSION --apply`` (``minutes`` None: no outcome record)."""
        data = {
            "reason": None,
            "operator": OPERATOR["aws_caller"],
            "bucket": "ohpen-terraform-state",
            "key": "ohpen-data-lake/terraform.tfstate",
            "previous_version_id": "v-bad",
            "restored_version_id": "v-good",
            "new_serial": 8,
        }
        return self._pair(
            "state_restore",
            started,
            minutes,
            status,
            data,
            initiated_by=initiated_by,
            detected=detected,
            old=old,
        )

    def data_rollback(
        self,
        started: datetime,
        minutes: float | None,
        *,
        status: str = "applied",
        layer: str = "silver",
        detected: datetime | None = None,
        old: bool = False,
    ) -> AuditRecord:
        """``ohpen data rollback --layer LAYER --to RUN --apply``."""
        data = {
            "who": OPERATOR,
            "when": iso_utc(started),
            "reason": "run 2024-05-01 wrote duplicates",
            "plan": {"layer": layer, "from_run": "r2", "to_run": "r1"},
        }
        return self._pair(
            "data_rollback",
            started,
            minutes,
            status,
            data,
            initiated_by="operator",
            detected=detected,
            old=old,
        )

    # ------------------------------------------------------------ deployments, marks, drills

    def deployment(
        self,
        started: datetime,
        minutes: float | None,
        commit: str,
        result: str = "succeeded",
        *,
        style: str = "finished",
    ) -> AuditRecord:
        """``ohpen deploy``: started, then (``minutes`` not None) the outcome, either as
        ``status: finished`` with ``result`` or as ``status: <result>``."""
        base = {
            "commit": commit,
            "ref": "main",
            "state_version_before": "v-before",
            "started_at": iso_utc(started),
        }
        first = self.write("deployment", started, {"status": "started", **base})
        if minutes is None:
            return first
        ended = started + timedelta(minutes=minutes)
        outcome: dict[str, Any] = {
            **base,
            "started_record": first.id,
            "state_version_after": f"v-{commit[:7]}",
            "ended_at": iso_utc(ended),
        }
        if style == "finished":
            outcome |= {"status": "finished", "result": result}
        else:
            outcome |= {"status": result}
        return self.write("deployment", ended, outcome)

    def known_good(self, moment: datetime) -> AuditRecord:
        return self.write("known_good", moment, {"state_version": "v-good", "sha": TARGET})

    def drill(self, started: datetime, minutes: float = 20) -> AuditRecord:
        finished = started + timedelta(minutes=minutes)
        return self.write(
            "drill",
            finished,
            {
                "started_at": iso_utc(started),
                "finished_at": iso_utc(finished),
                "fault": "deleted-glue-job",
                "resource": "ohpen-transaction-etl-spark",
                "time_to_detect_seconds": 30,
                "rollback_seconds": 120,
                "time_to_green_seconds": 300,
                "first_attempt_success": True,
                "passed": True,
            },
        )
