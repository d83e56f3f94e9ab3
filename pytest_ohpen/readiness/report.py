"""The readiness report as a typed, frozen object: built once from the facts and the verdict,
then only replaced (the trigger's record is added with ``dataclasses.replace``).

Every later step (the trigger, the known-good mark, the files, the audit records, the
hooks, Allure) reads this object; JSON and Markdown are rendered from it at the edge, by
:mod:`pytest_ohpen.readiness.render`, and nothing reads a rendered dict back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pytest_ohpen import __version__

if TYPE_CHECKING:
    from pytest_ohpen.readiness.apply_command import ApplyCommand
    from pytest_ohpen.readiness.decide import Verdict
    from pytest_ohpen.readiness.facts import FailedCheck, ReadinessFacts, StateFacts, VersionFacts
    from pytest_ohpen.readiness.git_facts import GitFacts
    from pytest_ohpen.readiness.impact import Impact
    from pytest_ohpen.readiness.work_in_progress import RunningWork
    from pytest_ohpen.terraform.locks import LockInfo

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Place:
    """The environment the report is about."""

    name: str
    account_id: str
    region: str


@dataclass(frozen=True)
class CheckCounts:
    """How the checks went; ``ran`` False for ``ohpen readiness`` (no checks)."""

    ran: bool
    passed: int
    passed_on_retry: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """Where a rollback goes: a state version (when one was chosen) and a git commit."""

    version: VersionFacts | None
    source: str | None
    """ "known_good" or "previous"; None when there is no state to choose from."""
    known_good_mark: Mapping[str, Any] | None
    git_ref: str | None
    git_commit: str | None

    @property
    def state_version_id(self) -> str | None:
        return self.version.version.version_id if self.version else None


@dataclass(frozen=True)
class TriggerRecord:
    """What the rollback trigger did: the mode asked for and run, why apply fell back, and
    the command's run (``timed_out`` is None when the command never started)."""

    requested: str
    mode: str
    fallback_reasons: tuple[str, ...] = ()
    approved_by: str | None = None
    command: tuple[str, ...] | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None
    output: tuple[str, ...] = ()
    error: str | None = None
    timed_out: bool | None = None


@dataclass(frozen=True)
class Report:
    """The readiness report (``schema_version`` 1 when rendered); frozen, built by
    :func:`build_report`, completed by ``dataclasses.replace(report, rollback=...)``."""

    generated_at: datetime
    generator: str
    environment: Place
    verdict: Verdict
    checks: CheckCounts
    failed_checks: tuple[FailedCheck, ...]
    affected: tuple[str, ...]
    state: StateFacts | None
    lock: LockInfo | None
    running: tuple[RunningWork, ...]
    unversioned_buckets: tuple[str, ...]
    git: GitFacts | None
    unverified: tuple[str, ...]
    extra: Mapping[str, Any]
    operator: Mapping[str, str]
    """Who ran this: the AWS caller and the CI's variables (never credentials)."""
    rollback: TriggerRecord | None = None
    """None when the trigger did not run (no check failed, or no checks ran)."""
    inconclusive_checks: tuple[FailedCheck, ...] = ()
    """Checks that could not be performed; they block the verdict, never trigger."""
    apply_command: ApplyCommand | None = None
    """The exact command that applies the rollback to the target (or why it cannot be named)."""
    impact: tuple[Impact, ...] = ()
    """Per failed resource, what the account shows it affects; ``affected`` is the file's."""

    @property
    def current(self) -> VersionFacts | None:
        """The deployed state version (what a green run marks known-good)."""
        return self.state.current if self.state else None

    @property
    def target(self) -> Target | None:
        """Where to roll back to; None when neither a state nor git is known."""
        state, git = self.state, self.git
        if (state is None or state.target is None) and git is None:
            return None
        return Target(
            version=state.target if state else None,
            source=state.target_source if state else None,
            known_good_mark=state.known_good_mark if state else None,
            git_ref=git.target_ref if git else None,
            git_commit=git.target_commit if git else None,
        )

    @property
    def git_head(self) -> str | None:
        """The deployed commit (what a green run marks known-good)."""
        return self.git.head if self.git else None


def build_report(
    facts: ReadinessFacts,
    verdict: Verdict,
    generated_at: datetime,
    operator: Mapping[str, str],
) -> Report:
    """The report of ``facts`` and ``verdict``, independent of them: what a hook changes in
    the facts afterwards (their lists, ``extra``, the lock record) does not reach it."""
    return Report(
        generated_at=generated_at,
        generator=f"pytest-ohpen {__version__}",
        environment=Place(facts.environment, facts.account_id, facts.region),
        verdict=verdict,
        checks=CheckCounts(facts.checks_ran, facts.passed, tuple(facts.passed_on_retry)),
        failed_checks=tuple(facts.failed_checks),
        affected=tuple(facts.affected),
        state=copy.deepcopy(facts.state),
        lock=copy.deepcopy(facts.lock),
        running=tuple(facts.running),
        unversioned_buckets=tuple(facts.unversioned_buckets),
        git=facts.git,
        unverified=tuple(facts.unverified),
        extra=MappingProxyType(copy.deepcopy(facts.extra)),
        operator=MappingProxyType(dict(operator)),
        inconclusive_checks=tuple(facts.inconclusive_checks),
        apply_command=facts.apply_command,
        impact=tuple(facts.impact),
    )
