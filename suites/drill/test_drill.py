"""The quarterly rollback drill (the playbook's "Rollback Testing"), in order:

    pytest suites/drill --env staging --drill-fault wrong-iam-policy

Refused in every environment without `drills = true` (prod never has it). Each step is a
test, timestamped and recorded; the drill's audit record (kind "drill") holds the time to
detect, the rollback duration, the time to green (MTTR) and whether the first attempt
worked. A red check in step 3 is what the drill wants: that step passes when the fault
is caught.
"""

from __future__ import annotations

import pytest

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.configuration import TargetState, resolve_target
from pytest_ohpen.checks.pipeline import run_pipeline
from pytest_ohpen.config.environments import Environment
from pytest_ohpen.deploy.deploy import DeployRequest, deploy
from pytest_ohpen.records.store import AuditStore
from pytest_ohpen.rollback.bad_revision import throwaway_commit
from pytest_ohpen.rollback.drill import DrillRun
from pytest_ohpen.rollback.drill_checks import all_checks, run_checks

pytestmark = pytest.mark.ohpen_drill


@pytest.fixture(scope="module")
def baseline(ohpen_env: Environment, ohpen_aws: AwsClients) -> TargetState | None:
    """The deployed state version before the fault: what the configuration must match."""
    terraform = ohpen_env.terraform
    if terraform is None:
        return None
    s3 = ohpen_aws.client("s3")
    return resolve_target(s3, terraform.state_bucket, terraform.state_key, "latest", [])


@pytest.fixture(scope="module")
def audit(pytestconfig: pytest.Config) -> AuditStore:
    """The environment's audit store: the bad revision's deployment is recorded there."""
    from pytest_ohpen.plugin.stash import run_of

    return run_of(pytestconfig).audit_store()


def _require(drill: DrillRun, step: str) -> None:
    if not any(s["step"] == step and s["ok"] for s in drill.steps):
        pytest.skip(f"the drill stopped before this step: {step!r} did not succeed")


def test_1_baseline_is_green(
    ohpen_drill: DrillRun,
    ohpen_env: Environment,
    ohpen_aws: AwsClients,
    baseline: TargetState | None,
) -> None:
    """Before anything is broken, every check passes (else the drill proves nothing)."""
    failures = run_checks(all_checks(ohpen_env, ohpen_aws, baseline))
    ohpen_drill.step("baseline", not failures, "; ".join(failures) or "all checks green")
    assert not failures, "baseline is not green: " + "; ".join(failures)


def test_2_inject_the_fault(
    ohpen_drill: DrillRun, ohpen_aws: AwsClients, audit: AuditStore
) -> None:
    """Break one thing on purpose, from the catalogue (--drill-fault): deploy a bad revision
    (a throwaway commit, never on a branch) or change the account out of band."""
    _require(ohpen_drill, "baseline")
    fault, drill = ohpen_drill.fault, ohpen_drill
    if fault.code is not None:
        assert drill.good_commit, f"{drill.repo} is no git checkout: nothing to deploy from"
        drill.bad_commit = throwaway_commit(
            drill.repo,
            drill.good_commit,
            fault.code(drill.env, drill.resource),
            f"drill: {fault.description}",
        )
        lines: list[str] = []
        outcome = deploy(
            DeployRequest(
                drill.env,
                ohpen_aws,
                audit,
                drill.repo,
                ref=drill.bad_commit,
                apply=True,
                write_line=lines.append,
            )
        )
        assert outcome.applied and not outcome.error, (
            f"deploying the bad revision {drill.bad_commit[:12]} failed: "
            f"{outcome.error or '; '.join(outcome.refused) or lines[-1:]}"
        )
        detail = f"{fault.description}: deployed {drill.bad_commit[:12]} ({drill.resource})"
    else:
        assert fault.inject is not None
        fault.inject(ohpen_aws, drill.resource)
        detail = f"{fault.description} ({drill.resource})"
    drill.mark("injected")
    drill.step("inject", True, detail)


def test_3_checks_catch_the_fault(
    ohpen_drill: DrillRun,
    ohpen_env: Environment,
    ohpen_aws: AwsClients,
    baseline: TargetState | None,
) -> None:
    """The checks go red on the broken resource: red is expected here, and captured."""
    _require(ohpen_drill, "inject")
    failures = run_checks(all_checks(ohpen_env, ohpen_aws, baseline))
    caught = [f for f in failures if ohpen_drill.resource in f]
    if caught:
        ohpen_drill.mark("detected")
    ohpen_drill.detected = failures
    ohpen_drill.step("detect", bool(caught), "; ".join(failures) or "nothing caught")
    assert caught, f"the checks did not catch the fault on {ohpen_drill.resource}"


def test_4_roll_back(
    ohpen_drill: DrillRun,
    ohpen_env: Environment,
    ohpen_aws: AwsClients,
    baseline: TargetState | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Roll back with the environment's rollback command (--apply, to the good commit),
    approved by the drill and recorded as a drill."""
    _require(ohpen_drill, "detect")
    ohpen_drill.mark("rollback_started")
    with capsys.disabled():
        ohpen_drill.rollback = ohpen_drill.roll_back_by_command(
            baseline.version_id if baseline else None
        )
    ohpen_drill.mark("rollback_done")
    ok = bool(ohpen_drill.rollback.get("ok"))
    ohpen_drill.step(
        "rollback",
        ok,
        str(ohpen_drill.rollback.get("note") or ohpen_drill.rollback.get("error") or ""),
    )
    assert ok, f"the rollback did not succeed: {ohpen_drill.rollback}"


def test_5_post_rollback_is_green(
    ohpen_drill: DrillRun,
    ohpen_env: Environment,
    ohpen_aws: AwsClients,
    ohpen_where: Where,
    baseline: TargetState | None,
) -> None:
    """After the rollback every check passes again, and the pipeline runs (where e2e)."""
    _require(ohpen_drill, "rollback")
    failures = run_checks(all_checks(ohpen_env, ohpen_aws, baseline))
    if not failures and ohpen_env.e2e and ohpen_env.resources.buckets:
        for machine in ohpen_env.resources.state_machines:
            try:
                run_pipeline(
                    ohpen_aws.client("s3"),
                    ohpen_aws.client("stepfunctions"),
                    machine,
                    ohpen_env.resources.buckets[0],
                    ohpen_where,
                    timeout=ohpen_env.pipeline_timeout,
                )
            except CheckFailed as failure:
                failures.append(str(failure))
    ohpen_drill.green_after = failures
    if not failures:
        ohpen_drill.mark("green")
    ohpen_drill.step("post-rollback", not failures, "; ".join(failures) or "all green")
    assert not failures, "still red after the rollback: " + "; ".join(failures)
