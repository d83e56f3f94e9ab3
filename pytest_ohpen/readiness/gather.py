"""Gather readiness facts with read-only calls: S3 state versions, the lock, running work,
bucket versioning, git, the audit store's known-good marks.

A fact that cannot be gathered (access denied, throttled, unreachable) is recorded
in ``facts.unverified`` instead of raising: the verdict then blocks, because an
unknown is not a yes. With the run's deadline, every call is bounded by what is left of
it, and once it has run out the remaining facts are not asked for: each is unverified.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_ohpen.aws.errors import error_code
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.base import describe_client_error
from pytest_ohpen.checks.stepfunctions import state_machine_arn
from pytest_ohpen.readiness import git_facts as gitinfo
from pytest_ohpen.readiness import impact as impacts
from pytest_ohpen.readiness import state_diff
from pytest_ohpen.readiness import work_in_progress as running
from pytest_ohpen.readiness.apply_command import apply_command
from pytest_ohpen.readiness.facts import FailedCheck, ReadinessFacts, StateFacts, VersionFacts
from pytest_ohpen.terraform import locks, target
from pytest_ohpen.terraform import state_versions as statefile
from pytest_ohpen.util.threads import DaemonPool

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.records.store import AuditStore
    from pytest_ohpen.util.deadline import Deadline

T = TypeVar("T")
DEFAULT_TARGET_REF = "HEAD~1"
NO_SUCH_BUCKET = frozenset({"NoSuchBucket", "404"})
_DEADLINE: ContextVar[Deadline | None] = ContextVar("ohpen_readiness_deadline", default=None)
"""The deadline of the gathering under way, read by every probe (so the gatherers need
not pass it along)."""


def gather(
    env: Environment,
    clients: AwsClients,
    audit: AuditStore | None,
    *,
    repo: Path,
    checks_ran: bool,
    failed: list[FailedCheck] | None = None,
    passed: int = 0,
    passed_on_retry: list[str] | None = None,
    target_ref: str | None = None,
    inconclusive: list[FailedCheck] | None = None,
    deadline: Deadline | None = None,
) -> ReadinessFacts:
    """Every fact the verdict needs, each gathered with read-only calls, within what is
    left of ``deadline`` when given."""
    if deadline is not None:
        clients = clients.bounded(deadline.remaining())
    with _within(deadline):
        return _gather(
            env,
            clients,
            audit,
            repo=repo,
            checks_ran=checks_ran,
            failed=failed,
            passed=passed,
            passed_on_retry=passed_on_retry,
            target_ref=target_ref,
            inconclusive=inconclusive,
        )


@contextmanager
def _within(deadline: Deadline | None) -> Iterator[None]:
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _out_of_time(facts: ReadinessFacts, what: str) -> bool:
    """Whether the run's deadline has run out; if so ``what`` is recorded as unverified."""
    deadline = _DEADLINE.get()
    if deadline is None or not deadline.expired:
        return False
    facts.unverified.append(f"{what}: not gathered: {deadline.ran_out()}")
    return True


def _gather(
    env: Environment,
    clients: AwsClients,
    audit: AuditStore | None,
    *,
    repo: Path,
    checks_ran: bool,
    failed: list[FailedCheck] | None,
    passed: int,
    passed_on_retry: list[str] | None,
    target_ref: str | None,
    inconclusive: list[FailedCheck] | None,
) -> ReadinessFacts:
    facts = ReadinessFacts(
        environment=env.name,
        account_id=env.account_id,
        region=env.region,
        checks_ran=checks_ran,
        failed_checks=list(failed or []),
        passed=passed,
        passed_on_retry=list(passed_on_retry or []),
        inconclusive_checks=list(inconclusive or []),
    )
    marks = (
        _probe(
            facts,
            "the audit store's known-good marks",
            lambda: audit.known_good(env.name) if audit else [],
        )
        or []
    )
    # The running-work and versioning probes go out first, all at once; the state, the lock
    # and git (subprocesses) are read while they are in flight, and their answers read
    # back after, in the order the facts have always been recorded in.
    running_probes = _running_probes(env, clients)
    answers = _ahead(env, [*running_probes, *_versioning_probes(env, clients)])
    if env.terraform is None:
        facts.terraform_configured = False
    else:
        facts.state = _state(facts, env, clients, [m.data for m in marks])
        facts.lock = _lock(facts, env, clients)
    mark = facts.state.known_good_mark if facts.state else None
    ref = target_ref or _marked_commit(facts, mark) or DEFAULT_TARGET_REF
    facts.git = gitinfo.git_facts(repo, ref)
    facts.running = _running(facts, answers[: len(running_probes)])
    facts.unversioned_buckets = _unversioned(facts, answers[len(running_probes) :])
    target_version = facts.state.target if facts.state else None
    facts.apply_command = apply_command(  # the resolved commit: HEAD~1 moves, a SHA does not
        env.rollback.command,
        env.name,
        facts.git.target_commit or facts.git.target_ref,
        target_version.version.version_id if target_version else None,
    )
    facts.impact = _impact(facts, env, clients)  # last: it informs, the others decide
    return facts


def _impact(facts: ReadinessFacts, env: Environment, clients: AwsClients) -> list[impacts.Impact]:
    """What each failed resource affects in the account, with what the environments file
    says it feeds; a listing that could not be read is a warning (``impact_unknown``)."""
    failed = impacts.failed_resources((c.kind, c.resource) for c in facts.failed_checks)
    if not failed:
        return []
    account = impacts.read_account(
        clients, env.region, env.account_id, _DEADLINE.get(), failed=failed
    )
    facts.impact_unknown += [
        f"{impacts.WHAT[listing]} {why}" for listing, why in account.unknown.items()
    ]
    found = impacts.impact(
        failed, account.tables, account.jobs, account.state_machines, unknown=account.unknown
    )
    return [
        dataclasses.replace(one, from_file=_from_file(facts.failed_checks, one)) for one in found
    ]


def _from_file(checks: list[FailedCheck], one: impacts.Impact) -> tuple[str, ...]:
    """What ``[<env>.resources.feeds]`` says the resource feeds, each named once."""
    seen: dict[str, None] = {}
    for check in checks:
        if (check.kind, check.resource) == (one.kind, one.resource):
            seen.update(dict.fromkeys(check.affects))
    return tuple(seen)


def _marked_commit(facts: ReadinessFacts, mark: Mapping[str, Any] | None) -> str | None:
    """The deployed commit the target's known-good mark records; a mark that records none
    (unknown: null) is never a git target, so the git target falls back to HEAD~1, with a
    warning that it need not be the code of the marked state version."""
    if mark is None:
        return None
    commit = mark.get("git_commit")
    if isinstance(commit, str) and commit:
        return commit
    facts.extra_warnings.append(
        f"the known-good mark of state version {mark.get('state_version_id')} records no "
        f"deployed commit: the git target falls back to {DEFAULT_TARGET_REF}, which need not be "
        "the code of that state version; pass --rollback-target REF to name it"
    )
    return None


def _probe(facts: ReadinessFacts, what: str, call: Callable[[], T]) -> T | None:
    """``call()``, or None with ``what`` recorded as unverified when AWS or storage fails
    or the run's deadline has run out."""
    import botocore.exceptions as bex

    from pytest_ohpen.errors import OhpenError

    if _out_of_time(facts, what):
        return None
    try:
        return call()
    except bex.ClientError as error:
        facts.unverified.append(f"{what}: {describe_client_error(error, frozenset())}")
    except (bex.BotoCoreError, OhpenError, OSError) as error:
        facts.unverified.append(f"{what}: {type(error).__name__}: {error}")
    return None


def _state(
    facts: ReadinessFacts, env: Environment, clients: AwsClients, marks: list[dict[str, Any]]
) -> StateFacts | None:
    assert env.terraform is not None
    s3, bucket, key = clients.client("s3"), env.terraform.state_bucket, env.terraform.state_key
    where = f"s3://{bucket}/{key}"
    versioning = _probe(
        facts,
        f"versioning of state bucket {bucket}",
        lambda: statefile.bucket_versioning(s3, bucket),
    )
    versions = _probe(
        facts, f"the versions of {where}", lambda: statefile.list_versions(s3, bucket, key)
    )
    if versions is None:
        return None  # unknown, and recorded as unverified: the verdict blocks on that
    current_version = target.current_version(versions)
    chosen = target.choose_target(versions, target.known_good_order(marks), where=where)
    target_version, source = (chosen.version, chosen.reason) if chosen else (None, None)
    mark = None
    if chosen is not None and chosen.reason == target.KNOWN_GOOD:
        mark = next(
            m
            for m in target.preferred_marks(marks)
            if m.get("state_version_id") == chosen.version.version_id
        )

    bodies: dict[str, bytes] = {}

    def read(version: statefile.StateVersion | None) -> VersionFacts | None:
        if version is None:
            return None
        body = _probe(
            facts,
            f"state version {version.version_id}",
            lambda: statefile.read_version(s3, bucket, key, version.version_id),
        )
        if body is None:
            return VersionFacts(version, parse_error="could not be read")
        bodies[version.version_id] = body
        try:
            return VersionFacts(version, summary=statefile.parse_state(body))
        except statefile.StateParseError as error:
            return VersionFacts(version, parse_error=str(error))

    current, target_facts = read(current_version), read(target_version)
    changes, unknown = _changes(current, target_facts, bodies)
    return StateFacts(
        bucket,
        key,
        versioning,
        tuple(versions),
        current,
        target_facts,
        source,
        mark,
        changes,
        unknown,
    )


def _changes(
    current: VersionFacts | None, target_facts: VersionFacts | None, bodies: dict[str, bytes]
) -> tuple[state_diff.StateDiff | None, str | None]:
    """What a rollback to the target would change, from the two bodies already read (no
    other call), or why it is unknown: an unread or unreadable body is never "no changes"."""
    if target_facts is None:
        return None, "no target state version"
    if current is None:
        return None, "no current state version (deleted or missing)"
    for facts_of, what in ((current, "current"), (target_facts, "target")):
        if facts_of.parse_error:
            version = facts_of.version.version_id
            return None, f"{what} state version {version} {_unreadable(facts_of.parse_error)}"
    try:
        return state_diff.diff_states(
            json.loads(bodies[current.version.version_id]),
            json.loads(bodies[target_facts.version.version_id]),
        ), None
    except state_diff.StateDiffError as error:
        return None, str(error)


def _unreadable(parse_error: str) -> str:
    return parse_error if parse_error == "could not be read" else f"cannot be read: {parse_error}"


def _lock(facts: ReadinessFacts, env: Environment, clients: AwsClients) -> locks.LockInfo | None:
    assert env.terraform is not None
    tf = env.terraform
    if tf.lock_table:
        table = tf.lock_table
        held = _probe(
            facts,
            f"the state lock in DynamoDB table {table}",
            lambda: locks.dynamodb_lock(
                clients.client("dynamodb"), table, tf.state_bucket, tf.state_key
            ),
        )
        if held:
            return held
    return _probe(
        facts,
        f"the state lock file s3://{tf.state_bucket}/{tf.state_key}.tflock",
        lambda: locks.s3_lockfile(clients.client("s3"), tf.state_bucket, tf.state_key),
    )


Probes = Sequence[tuple[str, Callable[[], Any]]]
"""What each probe asks about (the unverified fact's wording) and its call."""


def _running_probes(env: Environment, clients: AwsClients) -> Probes:
    """One probe per state machine and Glue job: is anything of it running?"""
    where = Where(env.account_id, env.region)
    sfn, glue = clients.client("stepfunctions"), clients.client("glue")
    return [
        (
            f"running executions of state machine {name}",
            partial(running.running_executions, sfn, state_machine_arn(name, where), name),
        )
        for name in env.resources.state_machines
    ] + [
        (f"running runs of Glue job {job}", partial(running.running_glue_runs, glue, job))
        for job in env.resources.glue_jobs
    ]


def _running(facts: ReadinessFacts, answers: Probes) -> list[running.RunningWork]:
    """The running work the probes found; a probe that failed is an unverified fact."""
    found: list[running.RunningWork] = []
    for what, answer in answers:
        found += _probe(facts, what, answer) or []
    return found


def _ahead(
    env: Environment, probes: Sequence[tuple[str, Callable[[], T]]]
) -> Sequence[tuple[str, Callable[[], T]]]:
    """The probes' calls started at once, each handed back, in order, as a call that gives
    its answer or raises its error: so :func:`_probe` words every outcome as before, in a
    stable order. The caller goes on making calls of its own meanwhile (the state, the
    lock), so the pool has ``concurrency - 1`` threads; at ``concurrency`` 1 each probe is
    made when its answer is read. Waiting for an answer is bounded by the run's deadline
    (then a TimeoutError, recorded as unverified)."""
    if not probes or env.concurrency < 2:
        return probes
    deadline = _DEADLINE.get()
    pool = DaemonPool(min(env.concurrency - 1, len(probes)), "ohpen-readiness")
    futures = [pool.submit(partial(contextvars.copy_context().run, call)) for _, call in probes]
    pool.close()

    def answer(future: Future[T]) -> Callable[[], T]:
        def result() -> T:
            wait = max(0.0, deadline.remaining()) if deadline is not None else None
            return future.result(timeout=wait)

        return result

    return [(what, answer(future)) for (what, _), future in zip(probes, futures, strict=True)]


def _versioning_probes(env: Environment, clients: AwsClients) -> Probes:
    """One probe per data bucket: its versioning status (named by the bucket)."""
    s3 = clients.client("s3")
    return [
        (bucket, partial(statefile.bucket_versioning, s3, bucket))
        for bucket in env.resources.buckets
    ]


def _unversioned(facts: ReadinessFacts, answers: Probes) -> list[str]:
    """Data buckets whose versioning is off; a missing bucket is a failed check, not this."""
    import botocore.exceptions as bex

    found = []
    for bucket, answer in answers:
        if _out_of_time(facts, f"versioning of bucket {bucket}"):
            continue
        try:
            status = answer()
        except bex.ClientError as error:
            if error_code(error) in NO_SUCH_BUCKET:
                continue
            facts.unverified.append(
                f"versioning of bucket {bucket}: {describe_client_error(error, frozenset())}"
            )
            continue
        except (bex.BotoCoreError, TimeoutError) as error:
            facts.unverified.append(f"versioning of bucket {bucket}: {type(error).__name__}")
            continue
        if status != "Enabled":
            found.append(bucket)
    return found
