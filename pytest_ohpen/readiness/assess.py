"""Assess rollback readiness: the checks' outcomes and read-only facts in, a typed
:class:`~pytest_ohpen.readiness.report.Report` out (facts → verdict → Report).

The first half of what the plugin does when checks end and all of what ``ohpen readiness``
decides; :func:`pytest_ohpen.readiness.conclude.conclude` then acts on the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_ohpen.readiness.decide import decide
from pytest_ohpen.readiness.facts import FailedCheck
from pytest_ohpen.readiness.gather import gather
from pytest_ohpen.readiness.report import Report, build_report

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.plugin.outcomes import CheckOutcomes
    from pytest_ohpen.readiness.conclude import ReadinessRun


def assess(run: ReadinessRun, outcomes: CheckOutcomes | None) -> Report:
    """Gather the facts, let the facts hook add to them, decide, and build the report;
    ``outcomes`` None means no checks ran (``ohpen readiness``)."""
    env = run.env
    facts = gather(
        env,
        run.clients,
        run.audit,
        repo=run.repo,
        checks_ran=outcomes is not None,
        failed=failed_checks(outcomes, env) if outcomes else [],
        inconclusive=failed_checks(outcomes, env, inconclusive=True) if outcomes else [],
        passed=len(outcomes.passed) if outcomes else 0,
        passed_on_retry=[o.nodeid for o in outcomes.passed_on_retry] if outcomes else [],
        target_ref=run.target_ref,
        deadline=run.deadline,
    )
    run.hooks.facts(facts=facts, env=env)  # mutable on purpose: add_blocker, add_warning
    return build_report(facts, decide(facts), run.clock(), run.operator())


def failed_checks(
    outcomes: CheckOutcomes, env: Environment, *, inconclusive: bool = False
) -> list[FailedCheck]:
    """The failed checks (or those that could not be performed), each with what its
    resource feeds (``[<env>.resources.feeds]``)."""
    return [
        FailedCheck(
            outcome.nodeid,
            outcome.message or "failed",
            outcome.resource,
            outcome.kind,
            affects=env.affected_by(outcome.resource or ""),
        )
        for outcome in (outcomes.inconclusive if inconclusive else outcomes.failed)
    ]
