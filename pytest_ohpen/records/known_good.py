"""The known-good mark: what a run must have proved to write one, and what it records.

A mark is what later rollbacks go back to, so it is written only on evidence (every
collected check passed, none skipped except by the operator's choice, nothing left out)
and it says what passed (the suite, how many checks of each kind) and which commit was
deployed. The commit is never guessed from the checkout: HEAD is whatever is checked out
where the checks run (after a rollback with ``--verify``, the newer commit just rolled
back), so only a named source counts: the command line or CI's variable, else the applied
rollback (``incident``) or succeeded ``ohpen deploy`` (``deployment``) record that produced
the marked state version; else the mark records ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ohpen.config.schema import COMMIT_SHA
from pytest_ohpen.deploy.records import KIND as DEPLOYMENT
from pytest_ohpen.deploy.records import deployment_commit
from pytest_ohpen.rollback.incident import KIND as INCIDENT

if TYPE_CHECKING:
    from pytest_ohpen.records.store import AuditRecord

POST_ROLLBACK = "post_rollback"
"""The suite whose complete pass proves most: a target proven by it is preferred."""
CI_COMMIT_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA")
"""CI's variables naming the commit a pipeline runs on (GitHub Actions, GitLab CI)."""
ROLLBACK_KIND = INCIDENT
"""The record a Terraform rollback writes: it names the commit it applied and the state
version that apply produced."""
DEPLOYMENT_KIND = DEPLOYMENT
"""The record ``ohpen deploy --apply`` writes: the commit it applied and the state version
after (``state_version_after``)."""
COMMIT_RECORD_KINDS = (ROLLBACK_KIND, DEPLOYMENT_KIND)
"""The records a mark's deployed commit is looked up in (newest first across both)."""


@dataclass(frozen=True)
class Evidence:
    """What a run's checks proved; ``gaps`` says why it is no proof (empty: it is)."""

    suite: str
    """The suite(s) the checks came from, e.g. "smoke", "post_rollback+smoke"."""
    passed: int
    by_kind: Mapping[str, int] = field(default_factory=dict)
    """Passed checks per ``[<env>.resources]`` kind ("other" for checks of no resource)."""
    skipped_by_choice: int = 0
    gaps: tuple[str, ...] = ()

    @property
    def proves(self) -> bool:
        return not self.gaps


@dataclass(frozen=True)
class DeployedCommit:
    """The commit the marked state version was applied from, and who said so."""

    sha: str | None
    source: str | None
    """E.g. "--deployed-commit (command line)", "GITHUB_SHA", "incident <id>", "deployment <id>";
    None: unknown."""


def deployed_commit(
    given: str | None,
    given_source: str | None,
    environ: Mapping[str, str],
    applied: Sequence[AuditRecord],
    state_version_id: str,
) -> DeployedCommit:
    """``--deployed-commit``/OHPEN_DEPLOYED_COMMIT (``given``), else CI's commit variable, else
    the newest record in ``applied`` (applied rollbacks and succeeded deployments, newest
    first) that produced ``state_version_id``, else unknown (None)."""
    if given:
        return DeployedCommit(given, given_source)
    for name in CI_COMMIT_VARIABLES:
        value = environ.get(name, "").strip()
        if COMMIT_SHA.fullmatch(value):
            return DeployedCommit(value, name)
    for record in applied:  # newest first, as the store lists them
        commit = record_commit(record, state_version_id)
        if commit:
            return DeployedCommit(commit, f"{record.kind} {record.id}")
    return DeployedCommit(None, None)


def record_commit(record: AuditRecord, state_version_id: str) -> str | None:
    """The commit an applied rollback (``incident``) or a succeeded ``deployment`` record
    says produced ``state_version_id``; None for any other record."""
    if record.kind == DEPLOYMENT_KIND:
        commit = deployment_commit(record, state_version_id)
        return commit if commit and COMMIT_SHA.fullmatch(commit) else None
    return rollback_commit(record, state_version_id)


def rollback_commit(record: AuditRecord, state_version_id: str) -> str | None:
    """The commit an applied rollback record says produced ``state_version_id``, or None."""
    data = record.data
    restored = data.get("rolled_back_to")
    if record.kind != ROLLBACK_KIND or data.get("outcome") != "applied":
        return None
    if not isinstance(restored, dict) or restored.get("state_version") != state_version_id:
        return None
    commit = restored.get("git_commit")
    return commit if isinstance(commit, str) and COMMIT_SHA.fullmatch(commit) else None


def mark_data(
    state_version_id: str,
    evidence: Evidence,
    commit: DeployedCommit,
    *,
    checkout_head: str | None,
    marked_at: str,
    operator: Mapping[str, str],
) -> dict[str, Any]:
    """The mark's JSON: ``git_commit`` is the deployed commit (null when unknown: never a git
    target); ``checkout_head`` is only where the checks ran from, for the record."""
    return {
        "state_version_id": state_version_id,
        "git_commit": commit.sha,
        "git_commit_source": commit.source,
        "checkout_head": checkout_head,
        "suite": evidence.suite,
        "checks_passed": evidence.passed,
        "checks_by_kind": dict(evidence.by_kind),
        "checks_skipped_by_choice": evidence.skipped_by_choice,
        "marked_at": marked_at,
        "operator": dict(operator),
    }


def proven_by_post_rollback(mark: Mapping[str, Any]) -> bool:
    """Whether a mark's run included the complete post-rollback suite; a mark without a
    ``suite`` (written before marks recorded it) counts as smoke."""
    suite = mark.get("suite")
    return isinstance(suite, str) and POST_ROLLBACK in suite.split("+")
