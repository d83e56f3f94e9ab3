"""Decide whether a rollback is needed and safe right now: facts in, verdict out (pure).

The blockers are the playbook's "When NOT to Rollback" and pre-rollback checklist:
a held state lock (concurrent deployment), a running pipeline, nothing valid to go
back to (one version, other lineage, unreadable or empty state), no state
versioning, data buckets whose deleted objects could not be restored, any fact
that could not be verified, and any check that could not be performed (code
``inconclusive_checks``): a transient AWS error is not evidence that the deployment is
broken, so CD's rollback gate (verdict READY) never opens on one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_ohpen.readiness.facts import ReadinessFacts, StateFacts

READY = "READY"
BLOCKED = "BLOCKED"
NOT_NEEDED = "NOT_NEEDED"
INCONCLUSIVE_NAMED = 5
"""How many inconclusive checks the blocker names; the report lists all of them."""
SMALL_STATE_RATIO = 0.25
"""A target under a quarter of the current state's size is flagged as implausibly small."""


@dataclass(frozen=True)
class Reason:
    """A blocker or warning: a stable code for tools, a sentence for people."""

    code: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """READY, BLOCKED or NOT_NEEDED, with every reason."""

    verdict: str
    blockers: tuple[Reason, ...]
    warnings: tuple[Reason, ...]

    @property
    def rollback_possible(self) -> bool:
        """Whether a rollback could run now (what ``ohpen readiness`` exits 0 on)."""
        return not self.blockers


def decide(facts: ReadinessFacts) -> Verdict:
    """The verdict for ``facts``: NOT_NEEDED when checks ran and none failed."""
    blockers = [*_check_blockers(facts), *_state_blockers(facts), *_activity_blockers(facts)]
    blockers += _git_blockers(facts)
    blockers += [Reason("unverified", f"could not verify {what}") for what in facts.unverified]
    blockers += [Reason("hook", reason) for reason in facts.extra_blockers]
    warnings = [*_warnings(facts), *(Reason("hook", w) for w in facts.extra_warnings)]
    if facts.checks_ran and not facts.failed_checks and not facts.inconclusive_checks:
        verdict = NOT_NEEDED
    else:
        verdict = BLOCKED if blockers else READY
    return Verdict(verdict, tuple(blockers), tuple(warnings))


def _check_blockers(facts: ReadinessFacts) -> list[Reason]:
    """Checks that could not be performed: the deployment is neither proven broken nor
    healthy, so neither a rollback (READY) nor "not needed" may be concluded."""
    checks = facts.inconclusive_checks
    if not checks:
        return []
    shown = ", ".join(c.nodeid.rsplit("::", 1)[-1] for c in checks[:INCONCLUSIVE_NAMED])
    hidden = len(checks) - INCONCLUSIVE_NAMED
    more = f" and {hidden} more" if hidden > 0 else ""
    return [
        Reason(
            "inconclusive_checks",
            f"{len(checks)} check{'s' if len(checks) != 1 else ''} could not be performed "
            f"(throttled, AWS 5xx, no answer or out of time): {shown}{more}; a rollback is "
            "not decided on a transient error: rerun the checks",
        )
    ]


def _state_blockers(facts: ReadinessFacts) -> list[Reason]:
    if not facts.terraform_configured:
        return [
            Reason(
                "no_terraform_config",
                f"no [{facts.environment}.terraform] table: the state to roll back is unknown",
            )
        ]
    state = facts.state
    if state is None:
        return []  # gathering it failed; that is in `unverified`
    found: list[Reason] = []
    if state.versioning is not None and state.versioning != "Enabled":
        found.append(
            Reason(
                "state_bucket_unversioned",
                f"state bucket {state.bucket} has versioning {state.versioning}: "
                "earlier state versions are not kept, so there is nothing safe to go back to",
            )
        )
    live = [v for v in state.versions if not v.is_delete_marker]
    if state.versions and state.versions[0].is_delete_marker:
        found.append(
            Reason(
                "state_deleted",
                f"the latest version of s3://{state.bucket}/{state.key} is a delete marker",
            )
        )
    if not live:
        found.append(Reason("state_missing", f"no state object at s3://{state.bucket}/{state.key}"))
    elif len(live) == 1:
        found.append(
            Reason(
                "single_version",
                f"only one version of s3://{state.bucket}/{state.key}: nothing to roll back to",
            )
        )
    found += _target_blockers(state)
    return found


def _target_blockers(state: StateFacts) -> list[Reason]:
    current, target = state.current, state.target
    found: list[Reason] = []
    if current is not None and current.parse_error:
        found.append(
            Reason(
                "current_unparsable",
                f"current state version {current.version.version_id} cannot be read: "
                f"{current.parse_error}",
            )
        )
    if target is None:
        return found
    target_id = target.version.version_id
    if target.parse_error:
        found.append(
            Reason(
                "target_unparsable",
                f"target state version {target_id} cannot be read: {target.parse_error}",
            )
        )
        return found
    if current is not None and current.summary and target.summary:
        if target.summary.lineage != current.summary.lineage:
            found.append(
                Reason(
                    "lineage_mismatch",
                    f"target state version {target_id} has lineage {target.summary.lineage}, "
                    f"the current state {current.summary.lineage}: it is another state, not an "
                    "earlier version of this one",
                )
            )
        if target.summary.resource_count == 0 and current.summary.resource_count > 0:
            found.append(
                Reason(
                    "target_empty",
                    f"target state version {target_id} holds no resources; "
                    "applying it would destroy the stack",
                )
            )
    return found


def _activity_blockers(facts: ReadinessFacts) -> list[Reason]:
    found: list[Reason] = []
    if facts.lock is not None:
        lock = facts.lock
        found.append(
            Reason(
                "lock_held",
                f"the Terraform state lock is held by {lock.who or 'unknown'} since "
                f"{lock.created or 'unknown'} ({lock.operation or 'operation unknown'}, "
                f"{lock.source}): a deployment is in progress",
            )
        )
    for work in facts.running:
        what = "execution" if work.kind == "execution" else "Glue job run"
        found.append(
            Reason(
                "pipeline_running" if work.kind == "execution" else "glue_run_running",
                f"Data pipeline is running: wait for current ETL runs to complete ({what} "
                f"{work.run_id} of {work.resource}, started {work.started})",
            )
        )
    for bucket in facts.unversioned_buckets:
        found.append(
            Reason(
                "data_bucket_unversioned",
                f"bucket {bucket} has no versioning: rollback does not restore deleted data",
            )
        )
    return found


def _git_blockers(facts: ReadinessFacts) -> list[Reason]:
    git = facts.git
    if git is None:
        return []
    if git.error:
        return [Reason("git", f"git: {git.error}")]
    if git.target_commit is None:
        return [Reason("git_target_unresolved", f"git: cannot resolve {git.target_ref!r}")]
    return []


def _warnings(facts: ReadinessFacts) -> list[Reason]:
    found = [
        Reason(
            "impact_unknown",
            f"what the failed resources affect is not fully known: {line}; "
            "not the same as nothing affected",
        )
        for line in facts.impact_unknown
    ]
    if facts.git is not None and facts.git.dirty:
        found.append(
            Reason(
                "git_dirty",
                f"the git checkout {facts.git.repo} has uncommitted "
                "changes; the rollback uses committed code only",
            )
        )
    state = facts.state
    if state is None or state.target is None:
        return found
    if state.changes is None and state.changes_unknown:
        found.append(
            Reason(
                "rollback_changes_unknown",
                "what a rollback to state version "
                f"{state.target.version.version_id} would change is not known: "
                f"{state.changes_unknown}",
            )
        )
    if state.target_source == "previous":
        found.append(
            Reason(
                "no_known_good",
                "no known-good mark for another state version: the target is simply "
                "the version before the current one",
            )
        )
    current, target = state.current, state.target
    if current is not None and target.version.size < SMALL_STATE_RATIO * current.version.size:
        found.append(
            Reason(
                "target_small",
                f"target state version {target.version.version_id} is "
                f"{target.version.size} bytes, the current one {current.version.size}: "
                "implausibly small",
            )
        )
    if (
        current
        and current.summary
        and target.summary
        and (current.summary.terraform_version != target.summary.terraform_version)
    ):
        found.append(
            Reason(
                "terraform_version_differs",
                f"the target state was written by Terraform "
                f"{target.summary.terraform_version}, the current one by "
                f"{current.summary.terraform_version}",
            )
        )
    return found
