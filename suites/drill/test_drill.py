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
from pytest_ohpen.rollback.drill import DrillRun
from pytest_ohpen.rollback.drill_checks import all_checks, run_checks

pytestmark = pytest.mark.ohpen_drill
EMBEDDED = (
    "embedded account: no Terraform provider runs here, so the rollback re-provisions "
    "the known-good stack's {resource}"
)


@pytest.fixture(scope="module")
def baseline(ohpen_env: Environment, ohpen_aws: AwsClients) -> TargetState | None:
    """The deployed state version before the fault: what the configuration must match."""
    terraform = ohpen_env.terraform
    if terraform is None:
        return None
    s3 = ohpen_aws.client("s3")
    return resolve_target(s3, terraform.state_bucket, terraform.state_key, "latest", [])


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


def test_2_inject_the_fault(ohpen_drill: DrillRun, ohpen_aws: AwsClients) -> None:
    """Break one thing on purpose, from the catalogue (--drill-fault)."""
    _require(ohpen_drill, "baseline")
    ohpen_drill.fault.inject(ohpen_aws, ohpen_drill.resource)
    ohpen_drill.mark("injected")
    ohpen_drill.step("inject", True, f"{ohpen_drill.fault.description} ({ohpen_drill.resource})")


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
    """Roll back, approved by the drill and recorded as a drill."""
    _require(ohpen_drill, "detect")
    ohpen_drill.mark("rollback_started")
    if ohpen_env.emulated:
        ohpen_drill.fault.repair(ohpen_aws, ohpen_env, ohpen_drill.resource)
        note = EMBEDDED.format(resource=ohpen_drill.resource)
        with capsys.disabled():
            print(f"\n{note}")
        ohpen_drill.rollback = {"mode": "re-provision", "ok": True, "note": note}
    else:
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
