"""Each rollback's recovery: from the failed deployment to green verification (MTTR).

The clock starts at the first that is known, and the rollback says which:

1. ``deployment``: the deployment the rollback undid (see
   :func:`pytest_ohpen.metrics.deployments.undone`) at its end (its start when no end is
   recorded), never later than the rollback's own clock start;
2. ``detection``: the failed check's time (the trigger's ``detected_at``, or
   ``--detected-at``);
3. ``command start``: the first attempt's start (nothing earlier is recorded; flagged).

It stops at green verification, the first that applies: the restoring attempt's smoke
tests passed; else the first known-good mark (a green run) of the environment after the
restore, within :data:`GREEN_WINDOW` and before the next incident's clock started; else
the restore itself, flagged "restored; no green verification recorded". A rollback that
never restored service has no recovery to sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pytest_ohpen.metrics.deployments import Deployment, undone
from pytest_ohpen.metrics.incidents import COMMAND_START, DETECTION, Rollback
from pytest_ohpen.records.store import AuditRecord

DEPLOYMENT_START = "deployment"
GREEN_WINDOW = timedelta(hours=24)
"""How long after a restore a known-good mark still counts as its green verification."""
SMOKE_PASSED = "smoke tests passed"
NOT_VERIFIED = "restored; no green verification recorded"


def _green(
    rollback: Rollback, marks: Sequence[AuditRecord], until: datetime | None
) -> tuple[datetime | None, str]:
    restoring, restored = rollback.restoring, rollback.restored_at
    if restoring is None or restored is None:
        return None, ""
    if restoring.green:
        return restored, SMOKE_PASSED
    last = restored + GREEN_WINDOW if until is None else min(restored + GREEN_WINDOW, until)
    mark = next((m for m in marks if restored < m.recorded_at <= last), None)
    if mark is not None:
        return mark.recorded_at, f"known-good mark {mark.id}"
    return restored, NOT_VERIFIED


def with_recovery(
    rollbacks: Sequence[Rollback],
    deployments: Sequence[Deployment],
    known_good: Sequence[AuditRecord],
) -> list[Rollback]:
    """``rollbacks`` (one family, oldest first) with their MTTR start, green time and the
    deployment each undid."""
    marks = sorted(known_good, key=lambda m: (m.recorded_at, m.id))
    done: list[Rollback] = []
    for index, rollback in enumerate(rollbacks):
        later = rollbacks[index + 1] if index + 1 < len(rollbacks) else None
        green_at, source = _green(rollback, marks, later.clock_started_at if later else None)
        deployment = undone(rollback, deployments)
        if deployment is not None:
            started = min(deployment.failed_at, rollback.clock_started_at)
            start = DEPLOYMENT_START
        else:
            started = rollback.clock_started_at
            start = DETECTION if rollback.clock_start == DETECTION else COMMAND_START
        done.append(
            replace(
                rollback,
                green_at=green_at,
                green_source=source,
                mttr_started_at=started,
                mttr_start=start,
                deployment=deployment.id if deployment else None,
            )
        )
    return done
