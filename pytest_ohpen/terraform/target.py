"""Which Terraform state version a rollback goes back to: one choice, made in one place.

The readiness report names the target, the trigger hands it to the rollback command as
``{state_version}``, and the post-rollback configuration checks compare the live stack
with it; if each chose on its own they could name different versions. Pure: the state's
versions (as listed, newest first) and the known-good marks in, the version and why out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pytest_ohpen.records.known_good import proven_by_post_rollback
from pytest_ohpen.terraform.state_versions import StateVersion

M = TypeVar("M", bound=Mapping[str, Any])
KNOWN_GOOD = "known_good"
"""The version of the preferred known-good mark (never the current one): the newest marked
by a complete post-rollback run, else the newest marked by a smoke run."""
PREVIOUS = "previous"
"""The newest version before the current one."""
LATEST = "latest"
"""The current version (only when asked for: a rollback to it changes nothing)."""
EXPLICIT = "explicit"
"""A version id the operator named."""
OPTION = "--target-state-version"
HINT = "list them with `ohpen state versions --env NAME`"


class TargetError(ValueError):
    """The asked-for target state version does not exist; ``str(error)`` is one line."""


@dataclass(frozen=True)
class TargetChoice:
    """The chosen version, why it was chosen, and whether the operator asked for it."""

    version: StateVersion
    reason: str
    """KNOWN_GOOD, PREVIOUS, LATEST or EXPLICIT."""
    asked: bool = False

    @property
    def is_fallback(self) -> bool:
        """Nothing was asked and no known-good mark applies: merely the previous version."""
        return self.reason == PREVIOUS and not self.asked


def current_version(versions: Sequence[StateVersion]) -> StateVersion | None:
    """The version the backend serves now; a delete marker on top means there is none."""
    return versions[0] if versions and not versions[0].is_delete_marker else None


def preferred_marks(marks: Sequence[M]) -> list[M]:
    """Known-good marks (their data, newest first) in the order a target is chosen from
    them: those proven by the post-rollback suite first, then the rest (smoke, or a mark
    from before marks recorded their suite), each newest first."""
    usable = [m for m in marks if m.get("state_version_id")]
    return sorted(usable, key=lambda m: not proven_by_post_rollback(m))  # stable


def known_good_order(marks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The state version ids of :func:`preferred_marks`, for :func:`choose_target`."""
    return [str(m["state_version_id"]) for m in preferred_marks(marks)]


def choose_target(
    versions: Sequence[StateVersion],
    known_good_ids: Sequence[str],
    choice: str | None = None,
    *,
    where: str = "the state",
) -> TargetChoice | None:
    """The rollback target among ``versions`` (newest first, delete markers included).

    ``choice`` is what the operator asked for: a version id, "latest" or "previous".
    Without one: the first of ``known_good_ids`` (in :func:`known_good_order`) that is still
    stored and is not the current version, else the previous version, else None (nothing to
    go back to). A choice that cannot be met is a TargetError naming ``where``.
    """
    current = current_version(versions)
    live = [v for v in versions if not v.is_delete_marker]
    earlier = [v for v in live if v is not current]
    if choice is None:
        by_id = {v.version_id: v for v in earlier}
        marked = next((by_id[i] for i in known_good_ids if i in by_id), None)
        if marked is not None:
            return TargetChoice(marked, KNOWN_GOOD)
        return TargetChoice(earlier[0], PREVIOUS) if earlier else None
    if choice == "latest":
        if current is None:
            raise TargetError(f"{OPTION} latest: {where} has no current version; {HINT}")
        return TargetChoice(current, LATEST, asked=True)
    if choice == "previous":
        if not earlier:
            raise TargetError(f"{OPTION} previous: {where} has no earlier version; {HINT}")
        return TargetChoice(earlier[0], PREVIOUS, asked=True)
    named = next((v for v in live if v.version_id == choice), None)
    if named is None:
        raise TargetError(f"{OPTION} {choice}: no such version of {where}; {HINT}")
    return TargetChoice(named, EXPLICIT, asked=True)
