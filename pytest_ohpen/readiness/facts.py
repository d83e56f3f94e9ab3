"""What a readiness verdict is decided from: plain data, gathered by ``gather``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ohpen.readiness.apply_command import ApplyCommand
    from pytest_ohpen.readiness.git_facts import GitFacts
    from pytest_ohpen.readiness.impact import Impact
    from pytest_ohpen.readiness.state_diff import StateDiff
    from pytest_ohpen.readiness.work_in_progress import RunningWork
    from pytest_ohpen.terraform.locks import LockInfo
    from pytest_ohpen.terraform.state_versions import StateSummary, StateVersion


@dataclass(frozen=True)
class FailedCheck:
    """A check that failed (or, in ``inconclusive_checks``, could not be performed) after
    its retries, and what its resource feeds."""

    nodeid: str
    message: str
    resource: str | None = None
    kind: str | None = None
    affects: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionFacts:
    """One state version and what its content says (or why it could not be read)."""

    version: StateVersion
    summary: StateSummary | None = None
    parse_error: str | None = None


@dataclass(frozen=True)
class StateFacts:
    """The Terraform state object in S3: its versions, the current one and the target."""

    bucket: str
    key: str
    versioning: str | None = None
    versions: tuple[StateVersion, ...] = ()
    current: VersionFacts | None = None
    target: VersionFacts | None = None
    target_source: str | None = None
    """ "known_good" (a smoke run passed on it) or "previous" (the version before current)."""
    known_good_mark: dict[str, Any] | None = None
    changes: StateDiff | None = None
    """What a rollback to the target would change, current → target, resource by resource;
    None when it is not known (``changes_unknown`` says why: never read as "no changes")."""
    changes_unknown: str | None = None


@dataclass
class ReadinessFacts:
    """Everything the verdict depends on. Mutable: conftest hooks may add to it."""

    environment: str
    account_id: str
    region: str
    checks_ran: bool
    """False for ``ohpen readiness`` (no checks run): the verdict is then READY or BLOCKED."""
    failed_checks: list[FailedCheck] = field(default_factory=list)
    passed: int = 0
    passed_on_retry: list[str] = field(default_factory=list)
    terraform_configured: bool = True
    state: StateFacts | None = None
    lock: LockInfo | None = None
    running: list[RunningWork] = field(default_factory=list)
    unversioned_buckets: list[str] = field(default_factory=list)
    git: GitFacts | None = None
    unverified: list[str] = field(default_factory=list)
    """Facts that could not be gathered, one line each; each blocks (safety first)."""
    extra_blockers: list[str] = field(default_factory=list)
    extra_warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    inconclusive_checks: list[FailedCheck] = field(default_factory=list)
    """Checks that could not be performed (throttled, 5xx, no answer, out of time): nothing
    was found wrong and nothing proven right; each blocks the verdict (``inconclusive_checks``)."""
    apply_command: ApplyCommand | None = None
    """The environment's rollback command for the target, in apply mode (or why not)."""
    impact: list[Impact] = field(default_factory=list)
    """Per failed resource, what the account shows it affects (tables, jobs, state machines)."""
    impact_unknown: list[str] = field(default_factory=list)
    """The account's listings that could not be read for ``impact``, one line each: a warning
    (what is affected is not fully known), never read as "nothing affected"."""

    def add_blocker(self, reason: str) -> None:
        """For conftest hooks: a reason a rollback must not run now."""
        self.extra_blockers.append(reason)

    def add_warning(self, reason: str) -> None:
        """For conftest hooks: something the on-call engineer should know."""
        self.extra_warnings.append(reason)

    @property
    def affected(self) -> list[str]:
        """What the failing resources feed, each named once, in order."""
        seen: dict[str, None] = {}
        for check in self.failed_checks:
            for thing in check.affects:
                seen.setdefault(thing, None)
        return list(seen)
