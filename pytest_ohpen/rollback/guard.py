"""Blockers enforced where a change happens, not only in the readiness report.

Every command that changes the account (``rollback terraform --apply``, ``state restore
--apply``, ``data rollback --apply``) gathers the same read-only facts as ``ohpen
readiness`` (:func:`pytest_ohpen.readiness.gather.gather`, then
:func:`pytest_ohpen.readiness.decide.decide`: one implementation) and refuses while a
blocker that concerns it stands, unless ``--force`` comes with a non-blank ``--reason``;
both are then recorded. The playbook's "When NOT to Rollback" is a guard, not advice.

Which blockers concern which command (:func:`applicable`):

- a running pipeline or Glue run, a held state lock, an unversioned data bucket, a
  conftest hook's blocker and an unverified fact about any of them block all three;
- the state backend's own health (unversioned, deleted, missing, unreadable current
  version, no ``[terraform]`` table) blocks ``rollback terraform`` and ``state restore``;
- blockers about the state version the readiness report would roll back to
  (``single_version``, ``target_unparsable``, ``lineage_mismatch``, ``target_empty``) block
  neither: ``rollback terraform`` re-applies a git revision on top of the current state
  (its plan review guards what that destroys) and ``state restore`` writes the version it
  was given after validating it itself;
- git blockers apply to ``rollback terraform`` only (it checks the ref out);
- ``data rollback`` touches no Terraform state and no git: blockers only about those
  (and facts about them that could not be verified) do not apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.errors import ConfigError, OhpenError
from pytest_ohpen.readiness.decide import Reason

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.records.store import AuditStore

TERRAFORM_ROLLBACK = "rollback terraform"
STATE_RESTORE = "state restore"
DATA_ROLLBACK = "data rollback"

READINESS_TARGET = frozenset(
    {"single_version", "target_unparsable", "lineage_mismatch", "target_empty"}
)
"""About the state version the readiness report would roll back to."""
GIT = frozenset({"git", "git_target_unresolved"})
TERRAFORM_STATE = READINESS_TARGET | {
    "no_terraform_config",
    "state_bucket_unversioned",
    "state_deleted",
    "state_missing",
    "current_unparsable",
}
"""Only about the Terraform state in its S3 backend (not the lock: a deployment runs)."""
UNVERIFIED = "unverified"
STATE_FACTS = ("versioning of state bucket ", "the versions of s3://", "state version ")
"""How :mod:`pytest_ohpen.readiness.gather` names facts about the state object."""
TARGET_FACTS = ("the audit store's known-good marks",)
"""Read only to choose the readiness report's target."""

IGNORED: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    TERRAFORM_ROLLBACK: (READINESS_TARGET, TARGET_FACTS),
    STATE_RESTORE: (READINESS_TARGET | GIT, TARGET_FACTS),
    DATA_ROLLBACK: (TERRAFORM_STATE | GIT, STATE_FACTS + TARGET_FACTS),
}
"""Per command: the blocker codes that do not concern it, and the unverified facts."""


class Blocked(OhpenError):
    """A blocker stands and no ``--force --reason`` overrides it; nothing was changed."""

    def __init__(self, message: str, blockers: tuple[Reason, ...]) -> None:
        super().__init__(message)
        self.blockers = blockers


@dataclass(frozen=True)
class Override:
    """``--force`` and the reason that goes with it (required, non-blank, with force)."""

    force: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Cleared:
    """The guard let the change go ahead: what stood against it, and whether forced."""

    blockers: tuple[Reason, ...]
    override: Override

    def record(self) -> dict[str, Any]:
        """For the audit record: ``force``, ``force_reason`` and the blockers overridden."""
        return {
            "force": self.override.force,
            "force_reason": self.override.reason if self.override.force else None,
            "blockers": [{"code": b.code, "message": b.message} for b in self.blockers],
        }


def override_of(command: str, force: bool, reason: str | None) -> Override:
    """The override the options ask for; ConfigError (a usage error, before any AWS call)
    for ``--force`` without a non-blank ``--reason``."""
    text = (reason or "").strip() or None
    if force and text is None:
        raise ConfigError(
            f"{command} --force needs --reason TEXT (not blank): say why the blockers are "
            "overridden, e.g. --reason 'pipeline run stuck since 02:00, confirmed dead'"
        )
    return Override(force, text)


def applicable(command: str, blockers: Sequence[Reason]) -> list[Reason]:
    """The blockers that concern ``command`` (see the module docstring)."""
    codes, facts = IGNORED[command]
    found = []
    for blocker in blockers:
        if blocker.code in codes:
            continue
        if blocker.code == UNVERIFIED and blocker.message.removeprefix(
            "could not verify "
        ).startswith(facts):
            continue
        found.append(blocker)
    return found


def clear(command: str, blockers: Sequence[Reason], override: Override) -> Cleared:
    """Cleared when nothing concerning ``command`` stands or it is forced; Blocked (one
    line naming every blocker and its code) otherwise."""
    standing = tuple(applicable(command, blockers))
    if standing and not override.force:
        named = "; ".join(f"{b.code}: {b.message}" for b in standing)
        raise Blocked(
            f"refused, nothing was changed: {named}; wait until this clears, or add "
            "--force --reason TEXT to go ahead anyway (both are recorded)",
            standing,
        )
    return Cleared(standing, override)


def forced_line(command: str, cleared: Cleared) -> str | None:
    """The warning printed when ``--force`` overrides blockers (None when none stood)."""
    if not cleared.blockers:
        return None
    codes = ", ".join(b.code for b in cleared.blockers)
    return f"warning: {command} --force overrides {codes} (reason: {cleared.override.reason})"


def gather_blockers(
    env: Environment,
    clients: AwsClients,
    repo: Path,
    *,
    audit: AuditStore | None = None,
    target_ref: str | None = None,
) -> list[Reason]:
    """Every readiness blocker right now (no checks ran), from read-only calls."""
    from pytest_ohpen.readiness.decide import decide
    from pytest_ohpen.readiness.gather import gather

    facts = gather(env, clients, audit, repo=repo, checks_ran=False, target_ref=target_ref)
    return list(decide(facts).blockers)


def guard(
    command: str,
    env: Environment,
    clients: AwsClients,
    repo: Path,
    override: Override,
    *,
    audit: AuditStore | None = None,
    target_ref: str | None = None,
) -> Cleared:
    """Gather, decide and :func:`clear` for ``command``: Blocked or Cleared."""
    found = gather_blockers(env, clients, repo, audit=audit, target_ref=target_ref)
    return clear(command, found, override)
