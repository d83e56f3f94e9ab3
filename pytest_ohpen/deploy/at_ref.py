"""A Terraform change at a git ref: the steps ``ohpen deploy`` and ``ohpen rollback
terraform`` share, written once.

Check the ref out into a temporary worktree (the operator's checkout is never touched),
find Terraform and hold it to the environment's pinned version, ``init`` against the
state backend, ``plan`` to a file, ``show -json`` it, review the plan (a data-bearing
delete or replace is refused unless allowed), and — only when asked to apply, the plan is
allowed and the caller's :meth:`Steps.start` has recorded it first — apply that reviewed
plan file with normal state locking, naming the state versions before and after.

What differs between the commands (which records, the readiness guard, the pre-rollback
backup and its recovery) are the :class:`Steps` a caller passes.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.rollback import worktree
from pytest_ohpen.terraform.binary import (
    TerraformError,
    TerraformRunner,
    backend_config,
    check_version,
    find_terraform,
    python_folder,
    terraform_environment,
    terraform_version,
)
from pytest_ohpen.terraform.plan_review import PlanReview, render_review, review_plan

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment


class ChangeRefused(OhpenError):
    """The change cannot be planned at all: no ``[terraform]`` table, no working directory
    at the ref, or the state's versions cannot be read before an apply."""


@dataclass
class ChangeOutcome:
    """What the shared steps did; callers extend it with what their own steps add."""

    mode: str
    """ "dry-run" or "apply" (what was asked for)."""
    commit: str
    """The full commit id the ref resolved to (the code planned)."""
    review: PlanReview | None = None
    refused: list[str] = field(default_factory=list)
    applied: bool = False
    apply_seconds: float | None = None
    error: str | None = None
    state_version_before: str | None = None
    """The state version the backend served right before the apply (None: no state yet)."""
    state_version_after: str | None = None
    """The one it serves after the apply, failed or not (None: unknown or no state)."""


OutcomeT = TypeVar("OutcomeT", bound=ChangeOutcome)


class Steps(Protocol[OutcomeT]):
    """What a command adds to the shared steps, in the order they are called."""

    def outcome(self, mode: str, commit: str) -> OutcomeT:
        """The command's outcome object, once the ref has resolved to ``commit``."""

    def planned(self, outcome: OutcomeT) -> None:
        """A dry-run's end: say so and record the reviewed plan."""

    def refused(self, outcome: OutcomeT) -> None:
        """An apply refused by the plan review (``outcome.refused``): nothing was applied."""

    def start(self, outcome: OutcomeT) -> bool:
        """Right before the apply (``state_version_before`` known): what must hold and be
        recorded first; False (``outcome.refused`` or ``outcome.error`` saying why) stops it."""

    def prepare(self, outcome: OutcomeT) -> None:
        """After :meth:`start`, before Terraform applies: e.g. back the state up."""

    def failed(self, outcome: OutcomeT) -> None:
        """After a failed apply (``outcome.error``): e.g. recover the state."""


@dataclass
class Change:
    """Change ``env``'s stack to the Terraform code at ``ref`` of ``repo``."""

    env: Environment
    clients: AwsClients
    repo: Path
    ref: str
    apply: bool = False
    allow_destroy: bool = False
    write_line: Callable[[str], None] = print
    timeout: float = 1800.0
    plan_name: str = "change.tfplan"


def change_at_ref(change: Change, steps: Steps[OutcomeT]) -> OutcomeT:
    """Plan the code at ``change.ref`` in a temporary worktree, review it, and apply the
    reviewed plan when asked and allowed; the worktree is removed whatever happens."""
    env = change.env
    if env.terraform is None:
        raise ChangeRefused(f"no [{env.name}.terraform] table: state bucket and code unknown")
    beside = python_folder() if env.emulated else None
    binary = find_terraform(pinned=env.terraform.version, beside=beside)
    subprocess_env = terraform_environment(env, change.clients.endpoint_url)
    version = terraform_version(binary, subprocess_env)
    check_version(version, env.terraform.version)
    with worktree.temporary_worktree(change.repo, change.ref) as tree:
        outcome = steps.outcome("apply" if change.apply else "dry-run", tree.commit)
        workdir = tree.path / env.terraform.working_dir
        if not workdir.is_dir():
            raise ChangeRefused(
                f"{env.terraform.working_dir!r} does not exist at "
                f"{change.ref} ({tree.commit[:12]}) in {change.repo}"
            )
        at_commit = terraform_environment(env, change.clients.endpoint_url, tree.commit)
        runner = TerraformRunner(binary, workdir, at_commit, change.write_line, change.timeout)
        runner.init(backend_config(env.terraform, env.region, change.clients.endpoint_url, version))
        with tempfile.TemporaryDirectory(prefix="ohpen-plan-") as scratch:
            plan_file = Path(scratch) / change.plan_name
            runner.plan(plan_file)
            outcome.review = review_plan(runner.show_json(plan_file))
            print_review(change.write_line, outcome.review, change.allow_destroy)
            outcome.refused = outcome.review.blocked(change.allow_destroy)
            if not change.apply:
                steps.planned(outcome)
            elif outcome.refused:
                change.write_line("refused: " + "; ".join(outcome.refused))
                steps.refused(outcome)
            else:
                outcome.state_version_before = state_version_before(change)
                if steps.start(outcome):
                    steps.prepare(outcome)
                    _apply(change, runner, plan_file, outcome, steps)
    return outcome


def print_review(write_line: Callable[[str], None], review: PlanReview, allow: bool) -> None:
    """The reviewed plan as the operator reads it: the table, warnings, what blocks."""
    for line in render_review(review):
        write_line(line)
    for warning in review.warnings():
        write_line(f"warning: {warning}")
    for reason in review.blocked(allow):
        write_line(f"blocks apply: {reason}")


def _apply(
    change: Change,
    runner: TerraformRunner,
    plan_file: Path,
    outcome: OutcomeT,
    steps: Steps[OutcomeT],
) -> None:
    began = time.monotonic()
    try:
        runner.apply(plan_file)
        outcome.applied = True
    except TerraformError as error:
        outcome.error = str(error)
        change.write_line(f"apply failed: {error}")
    finally:
        outcome.apply_seconds = round(time.monotonic() - began, 3)
    outcome.state_version_after = state_version_now(change.env, change.clients)
    if not outcome.applied:
        steps.failed(outcome)


def state_version_before(change: Change) -> str | None:
    """The state version served before an apply; ChangeRefused when the versions cannot be
    listed (the change would then be recorded without the version it started from)."""
    import botocore.exceptions as bex

    from pytest_ohpen.terraform import state_versions as statefile
    from pytest_ohpen.terraform.target import current_version

    assert change.env.terraform is not None
    tf = change.env.terraform
    try:
        versions = statefile.list_versions(
            change.clients.client("s3"), tf.state_bucket, tf.state_key
        )
    except (bex.BotoCoreError, bex.ClientError) as error:
        raise ChangeRefused(
            f"cannot list the versions of s3://{tf.state_bucket}/{tf.state_key} before "
            f"applying ({type(error).__name__}: {error}); nothing applied"
        ) from None
    current = current_version(versions)
    return current.version_id if current else None


def state_version_now(env: Environment, clients: AwsClients) -> str | None:
    """The state version the backend serves now; None when there is none or it cannot be
    read (a record then names no version, and a later mark finds no commit in it)."""
    import botocore.exceptions as bex

    from pytest_ohpen.terraform import state_versions as statefile
    from pytest_ohpen.terraform.target import current_version

    assert env.terraform is not None
    tf = env.terraform
    try:
        versions = statefile.list_versions(clients.client("s3"), tf.state_bucket, tf.state_key)
    except (bex.BotoCoreError, bex.ClientError):
        return None
    current = current_version(versions)
    return current.version_id if current else None
