"""Review a saved rollback plan before it is applied (the playbook's Step 5), from
``terraform show -json``: what changes, by resource type and action, and what must stop
the apply.

A rollback re-applies an older configuration, so updates and replacements are expected.
Deleting or replacing a resource that holds data (a bucket, a Glue database or table, a
DynamoDB table) loses data a rollback cannot restore, so it blocks the apply unless the
operator accepts it. Creating resources suggests the wrong state or revision was chosen:
a warning. Pure functions: no Terraform, no AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_ohpen.errors import OhpenError

DATA_BEARING = frozenset(
    {"aws_s3_bucket", "aws_glue_catalog_database", "aws_glue_catalog_table", "aws_dynamodb_table"}
)
"""Resource types whose deletion or replacement loses data."""
ACTIONS = ("create", "update", "replace", "delete")
"""The counted actions, in display order."""
_ACTION_LISTS: dict[tuple[str, ...], str | None] = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("no-op",): None,
    ("read",): None,
}
"""Terraform's ``change.actions`` lists and what each counts as (None: not counted)."""
SUPPORTED_FORMAT_MAJOR = ("0", "1")


class PlanFormatError(OhpenError, ValueError):
    """The document is not a ``terraform show -json`` plan this module can read."""


@dataclass(frozen=True)
class PlanReview:
    """What a plan changes, and what in it must stop or worry the operator."""

    counts: dict[str, dict[str, int]]
    """Resource type -> action -> number, for types with a counted change (all four keys)."""
    totals: dict[str, int]
    """Action -> number over all types (all four keys)."""
    destructive: tuple[str, ...]
    """Addresses of data-bearing resources the plan deletes or replaces."""
    creates: tuple[str, ...]
    """Addresses the plan creates."""
    output_changes: dict[str, str]
    """Output name -> action, for outputs that change ("no-op" ones are left out)."""
    changes: dict[str, str] = field(default_factory=dict)
    """Address -> action, for every counted resource change."""

    def blocked(self, allow_destroy: bool) -> list[str]:
        """Why apply must not run: each data-bearing delete or replace, unless accepted."""
        if allow_destroy:
            return []
        return [
            f"would {self.changes.get(address, 'delete/replace')} data-bearing {address} "
            "(pass --allow-destroy to accept)"
            for address in self.destructive
        ]

    def warnings(self) -> list[str]:
        """What the operator should look at before applying: resources the plan creates."""
        return [
            f"plan creates {address}: wrong state version selected?" for address in self.creates
        ]


def review_plan(plan: Mapping[str, Any]) -> PlanReview:
    """Review a ``terraform show -json`` plan document; PlanFormatError when it is not one."""
    if not isinstance(plan, Mapping):
        raise PlanFormatError(f"plan: expected a JSON object, got {type(plan).__name__}")
    _check_format_version(plan)
    counts: dict[str, dict[str, int]] = {}
    totals = dict.fromkeys(ACTIONS, 0)
    changes: dict[str, str] = {}
    destructive: list[str] = []
    creates: list[str] = []
    for index, entry in enumerate(_list(plan, "resource_changes")):
        address, type_, action = _resource_change(index, entry)
        if action is None:
            continue
        counts.setdefault(type_, dict.fromkeys(ACTIONS, 0))[action] += 1
        totals[action] += 1
        changes[address] = action
        if action in ("delete", "replace") and type_ in DATA_BEARING:
            destructive.append(address)
        elif action == "create":
            creates.append(address)
    return PlanReview(
        counts=counts,
        totals=totals,
        destructive=tuple(destructive),
        creates=tuple(creates),
        output_changes=_output_changes(plan),
        changes=changes,
    )


def render_review(review: PlanReview) -> list[str]:
    """A short table of the counts by resource type, then Terraform-style totals."""
    lines: list[str] = []
    if review.counts:
        width = max(len("resource type"), *(len(type_) for type_ in review.counts))
        lines.append("resource type".ljust(width) + "".join(f"{a:>9}" for a in ACTIONS))
        for type_ in sorted(review.counts):
            numbers = review.counts[type_]
            lines.append(type_.ljust(width) + "".join(f"{numbers[a]:>9}" for a in ACTIONS))
    else:
        lines.append("No resource changes.")
    if review.output_changes:
        listed = ", ".join(f"{name} ({action})" for name, action in review.output_changes.items())
        lines.append(f"Output changes: {listed}")
    totals = review.totals
    lines.append(
        f"Plan: {totals['create']} to create, {totals['update']} to update, "
        f"{totals['replace']} to replace, {totals['delete']} to delete"
    )
    return lines


# ---------------------------------------------------------------- reading the document


def _check_format_version(plan: Mapping[str, Any]) -> None:
    version = plan.get("format_version")
    if not isinstance(version, str):
        raise PlanFormatError(
            "plan: no format_version; expected the output of 'terraform show -json PLANFILE'"
        )
    if version.split(".")[0] not in SUPPORTED_FORMAT_MAJOR:
        raise PlanFormatError(
            f"plan: unsupported format_version {version!r} (this reads 0.x and 1.x)"
        )


def _list(plan: Mapping[str, Any], key: str) -> list[Any]:
    value = plan.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PlanFormatError(f"plan: {key} must be a list, got {type(value).__name__}")
    return value


def _resource_change(index: int, entry: Any) -> tuple[str, str, str | None]:
    where = f"plan: resource_changes[{index}]"
    if not isinstance(entry, Mapping):
        raise PlanFormatError(f"{where}: expected an object, got {type(entry).__name__}")
    address, type_, change = entry.get("address"), entry.get("type"), entry.get("change")
    if not isinstance(address, str) or not isinstance(type_, str):
        raise PlanFormatError(f"{where}: address and type must be strings")
    where = f"plan: {address}"
    if isinstance(entry.get("deposed"), str):
        address = f"{address} (deposed object {entry['deposed']})"
    return address, type_, _action(where, change)


def _action(where: str, change: Any) -> str | None:
    actions = change.get("actions") if isinstance(change, Mapping) else None
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise PlanFormatError(f"{where}: change.actions must be a list of strings")
    key = tuple(actions)
    if key not in _ACTION_LISTS:
        raise PlanFormatError(
            f"{where}: unknown change.actions {actions!r}; review this plan by hand"
        )
    return _ACTION_LISTS[key]


def _output_changes(plan: Mapping[str, Any]) -> dict[str, str]:
    outputs = plan.get("output_changes")
    if outputs is None:
        return {}
    if not isinstance(outputs, Mapping):
        raise PlanFormatError(
            f"plan: output_changes must be an object, got {type(outputs).__name__}"
        )
    result: dict[str, str] = {}
    for name, change in outputs.items():
        action = _action(f"plan: output {name}", change)
        if action is not None:
            result[str(name)] = action
    return result
