"""The plugin's public fixtures. A test that uses any of them is a check of an environment:
it makes ``--env`` required and gets the environment's retry and timeout.

Resource fixtures are parametrized from the environment's ``[resources]`` (see
``plugin.pytest_generate_tests``), one test per resource, the name as the test id.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _pytest.outcomes import Failed

from pytest_ohpen.plugin.stash import run_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.checks import Where
    from pytest_ohpen.checks.bake import BakeWindow
    from pytest_ohpen.checks.configuration import TargetState
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.rollback.drill import DrillRun

RESOURCE_FIXTURES = {
    "ohpen_bucket": "buckets",
    "ohpen_glue_job": "glue_jobs",
    "ohpen_state_machine": "state_machines",
    "ohpen_lambda": "lambdas",
    "ohpen_alarm": "alarms",
    "ohpen_role": "roles",
    "ohpen_table": "tables",
}
"""Each resource fixture and the ``[<env>.resources]`` key it is parametrized from."""
PLUGIN_FIXTURES = frozenset(
    {
        "ohpen_drill",
        "ohpen_env",
        "ohpen_aws",
        "ohpen_where",
        "ohpen_invoke_lambda",
        "ohpen_target_state",
        "ohpen_deployed_at",
        "ohpen_bake_window",
        *RESOURCE_FIXTURES,
    }
)


@pytest.fixture(scope="session")
def ohpen_env(pytestconfig: pytest.Config) -> Environment:
    """The environment under check (``--env``), as loaded from the environments file."""
    return run_of(pytestconfig).environment


@pytest.fixture(scope="session")
def ohpen_aws(pytestconfig: pytest.Config) -> AwsClients:
    """The run's shared AWS clients for the environment: ``ohpen_aws.client("s3")``.

    The account guard has already passed when a test receives them.
    """
    return run_of(pytestconfig).clients


@pytest.fixture(scope="session")
def ohpen_where(pytestconfig: pytest.Config) -> Where:
    """The environment's account and region, for check messages."""
    return run_of(pytestconfig).where


@pytest.fixture(scope="session")
def ohpen_invoke_lambda(pytestconfig: pytest.Config) -> bool:
    """Whether Lambda functions are invoked (``--invoke-lambda`` or ``SMOKE_INVOKE_LAMBDA=1``)."""
    return run_of(pytestconfig).settings.invoke_lambda


def _resource(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ohpen_bucket(request: pytest.FixtureRequest) -> str:
    """One S3 bucket of the environment's ``resources.buckets`` (one test each)."""
    return _resource(request)


@pytest.fixture
def ohpen_glue_job(request: pytest.FixtureRequest) -> str:
    """One Glue job of the environment's ``resources.glue_jobs`` (one test each)."""
    return _resource(request)


@pytest.fixture
def ohpen_state_machine(request: pytest.FixtureRequest) -> str:
    """One state machine of the environment's ``resources.state_machines`` (one test each)."""
    return _resource(request)


@pytest.fixture
def ohpen_lambda(request: pytest.FixtureRequest) -> str:
    """One Lambda function of the environment's ``resources.lambdas`` (one test each)."""
    return _resource(request)


@pytest.fixture
def ohpen_alarm(request: pytest.FixtureRequest) -> str:
    """One CloudWatch alarm of the environment's ``resources.alarms`` (one test each)."""
    return _resource(request)


@pytest.fixture
def ohpen_role(request: pytest.FixtureRequest) -> str:
    """One IAM role of the environment's ``resources.roles`` (one test each)."""
    return _resource(request)


@pytest.fixture
def ohpen_table(request: pytest.FixtureRequest) -> str:
    """One Glue catalog table (``database.table``) of ``resources.tables`` (one test each)."""
    return _resource(request)


@pytest.fixture(scope="session")
def ohpen_deployed_at(pytestconfig: pytest.Config) -> datetime | None:
    """When the deployment under check finished: the Terraform state object's LastModified
    (the apply writes it as it ends); None when the environment names no Terraform state."""
    return deploy_time(pytestconfig)


_DEPLOY_TIME = pytest.StashKey[tuple[datetime | None, BaseException | None]]()
_DEPLOY_TIME_LOCK = threading.Lock()


def deploy_time(config: pytest.Config) -> datetime | None:
    """The run's deploy time, read once (one HeadObject) whoever asks first: the fixture or
    a prefetched check (``plugin.prefetch``); a failure to read it is raised to each."""
    from pytest_ohpen.checks.deploy_time import state_written_at

    with _DEPLOY_TIME_LOCK:
        if _DEPLOY_TIME not in config.stash:
            run = run_of(config)
            terraform = run.environment.terraform
            try:
                found = (
                    None
                    if terraform is None
                    else state_written_at(
                        run.clients.client("s3"),
                        terraform.state_bucket,
                        terraform.state_key,
                        run.where,
                    )
                )
                config.stash[_DEPLOY_TIME] = (found, None)
            except Exception as problem:
                config.stash[_DEPLOY_TIME] = (None, problem)
        found, failed = config.stash[_DEPLOY_TIME]
    if failed is not None:
        raise failed
    return found


@pytest.fixture(scope="session")
def ohpen_bake_window(
    pytestconfig: pytest.Config, ohpen_deployed_at: datetime | None
) -> BakeWindow:
    """The bake window: from the deploy's end (else now) for ``bake_minutes``
    (``--bake-minutes``), like CloudFormation's rollback-trigger monitoring time."""
    from pytest_ohpen.checks.bake import BakeWindow

    start = ohpen_deployed_at or _now()
    return BakeWindow(start, start + timedelta(minutes=bake_minutes(pytestconfig)))


def bake_minutes(config: pytest.Config) -> float:
    """The run's bake window in minutes: ``--bake-minutes``, else the environment's key."""
    run = run_of(config)
    given = run.settings.bake_minutes
    return run.environment.bake_minutes if given is None else given


def _now() -> datetime:
    return datetime.now(UTC)


class TargetUnusable(Failed):
    """The target state version cannot be used (no such version, not a state): the
    configuration checks error with this one line, and are not retried (it would not help)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, pytrace=False)


@pytest.fixture(scope="session")
def ohpen_target_state(pytestconfig: pytest.Config) -> TargetState | None:
    """The state version whose configuration must be live again after a rollback:
    ``--target-state-version`` (an id, ``latest`` or ``previous``), else the newest
    known-good mark; None when neither is known (the configuration tests then skip)."""
    from pytest_ohpen.checks.configuration import TargetError, resolve_target
    from pytest_ohpen.terraform.target import known_good_order

    run = run_of(pytestconfig)
    terraform = run.environment.terraform
    if terraform is None:
        return None
    marks = run.audit_store().known_good(run.environment.name)
    try:
        return resolve_target(
            run.clients.client("s3"),
            terraform.state_bucket,
            terraform.state_key,
            run.settings.target_state_version,
            known_good_order([mark.data for mark in marks]),
        )
    except TargetError as error:
        problem = str(error)  # already names --target-state-version or the known-good mark
    raise TargetUnusable(problem)  # outside the except: one line, no chained exception


def _checked_out_commit(repo: Path) -> str | None:
    """The commit the drill rolls back to; None when ``repo`` is no git checkout (then the
    drill's rollback step says so)."""
    from pytest_ohpen.rollback import worktree
    from pytest_ohpen.util.git import GitError

    try:
        return worktree.head(repo)
    except GitError:
        return None


@pytest.fixture(scope="session")
def ohpen_drill(pytestconfig: pytest.Config) -> Iterator[DrillRun]:
    """The rollback drill's timeline; recorded in the audit store (kind "drill") at the end,
    whatever happened."""
    from pytest_ohpen.rollback.drill import KIND, DrillRun, choose_fault

    run = run_of(pytestconfig)
    fault, resource = choose_fault(run.settings.drill_fault, run.environment)
    drill = DrillRun(
        run.environment, fault, resource, run.repo, endpoint_url=run.clients.endpoint_url
    )
    drill.good_commit = _checked_out_commit(run.repo)
    yield drill
    record = run.audit_store().write(KIND, run.environment.name, drill.record())
    data = record.data
    run.summary_lines.append(
        f"drill {record.id}: {fault.name} on {resource}: "
        f"{'passed' if data['passed'] else 'FAILED'}; time to detect "
        f"{data['time_to_detect_seconds']} s, rollback {data['rollback_seconds']} s, "
        f"time to green {data['time_to_green_seconds']} s, first attempt "
        f"{'succeeded' if data['first_attempt_success'] else 'did not succeed'}"
    )
