"""Every check of an environment as plain calls, outside pytest: what the drill runs to see
a fault caught and, after the rollback, everything green again.

The same check functions as the suites (nothing copied); the pipeline run is left out (the
drill's last step runs it on its own when the environment allows e2e).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from pytest_ohpen.checks import (
    CheckFailed,
    Where,
    awslambda,
    configuration,
    glue,
    s3,
    security,
    stepfunctions,
)

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment


def all_checks(
    env: Environment, clients: AwsClients, target: configuration.TargetState | None
) -> list[tuple[str, Callable[[], None]]]:
    """(label, call) for every smoke, security and (with a target) configuration check."""
    where = Where(env.account_id, env.region)
    r, c = env.resources, clients.client
    found: list[tuple[str, Callable[[], None]]] = []
    for b in r.buckets:
        found += [
            (f"bucket accessible [{b}]", partial(s3.check_bucket_accessible, c("s3"), b, where)),
            (
                f"bucket public access blocked [{b}]",
                partial(security.check_public_access_blocked, c("s3"), b, where),
            ),
            (
                f"bucket versioned [{b}]",
                partial(security.check_versioning_enabled, c("s3"), b, where),
            ),
        ]
    for j in r.glue_jobs:
        found.append(
            (f"Glue job exists [{j}]", partial(glue.check_glue_job_exists, c("glue"), j, where))
        )
        if target is not None:
            found.append(
                (
                    f"Glue job matches target [{j}]",
                    partial(configuration.check_glue_job_matches, c("glue"), j, target, where),
                )
            )
    for m in r.state_machines:
        found.append(
            (
                f"state machine active [{m}]",
                partial(stepfunctions.check_state_machine_active, c("stepfunctions"), m, where),
            )
        )
    for f in r.lambdas:
        found.append(
            (f"Lambda active [{f}]", partial(awslambda.check_lambda_active, c("lambda"), f, where))
        )
        if target is not None:
            found.append(
                (
                    f"Lambda matches target [{f}]",
                    partial(configuration.check_lambda_matches, c("lambda"), f, target, where),
                )
            )
    for role in r.roles:
        found.append(
            (
                f"IAM role least privilege [{role}]",
                partial(security.check_role_policies_least_privilege, c("iam"), role, where),
            )
        )
    return found


def run_checks(checks: list[tuple[str, Callable[[], None]]]) -> list[str]:
    """Run every check; the failures' one-line messages (empty: all green)."""
    failures = []
    for _label, call in checks:
        try:
            call()
        except CheckFailed as failure:
            failures.append(str(failure))
    return failures
