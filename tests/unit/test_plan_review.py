"""The rollback plan review counts what a plan changes and stops data loss (playbook Step 5).

Documents follow ``terraform show -json``: ``resource_changes[].change.actions`` and
``output_changes``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.terraform.plan_review import (
    PlanFormatError,
    PlanReview,
    render_review,
    review_plan,
)


def change(address: str, *actions: str, deposed: str | None = None) -> dict[str, Any]:
    """One resource_changes entry, its type taken from the address."""
    type_ = address.split(".")[-2]
    entry: dict[str, Any] = {
        "address": address,
        "mode": "data" if address.startswith("data.") else "managed",
        "type": type_,
        "name": address.split(".")[-1],
        "change": {"actions": list(actions), "before": {}, "after": {}},
    }
    if deposed:
        entry["deposed"] = deposed
    return entry


def plan(*changes: dict[str, Any], outputs: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A plan document as ``terraform show -json`` prints it."""
    document: dict[str, Any] = {"format_version": "1.2", "terraform_version": "1.5.0"}
    if changes:
        document["resource_changes"] = list(changes)
    if outputs is not None:
        document["output_changes"] = {
            name: {"actions": actions, "before": None, "after": "x"}
            for name, actions in outputs.items()
        }
    return document


def test_counts_by_type_and_action_skip_noop_and_read() -> None:
    """The operator sees per type what changes; unchanged and data reads are noise."""
    review = review_plan(
        plan(
            change("aws_glue_job.etl", "update"),
            change("aws_glue_job.other", "update"),
            change("aws_sfn_state_machine.etl", "delete", "create"),
            change("aws_lambda_function.summary", "no-op"),
            change("data.aws_iam_policy_document.trust", "read"),
            change("aws_iam_role.old", "delete"),
        )
    )
    assert review.counts == {
        "aws_glue_job": {"create": 0, "update": 2, "replace": 0, "delete": 0},
        "aws_sfn_state_machine": {"create": 0, "update": 0, "replace": 1, "delete": 0},
        "aws_iam_role": {"create": 0, "update": 0, "replace": 0, "delete": 1},
    }
    assert review.totals == {"create": 0, "update": 2, "replace": 1, "delete": 1}
    assert review.changes["aws_sfn_state_machine.etl"] == "replace"


@pytest.mark.parametrize("actions", [("delete", "create"), ("create", "delete")])
def test_replace_in_either_order(actions: tuple[str, str]) -> None:
    """create_before_destroy lists the actions the other way round; both are a replace."""
    review = review_plan(plan(change("aws_glue_job.etl", *actions)))
    assert review.totals == {"create": 0, "update": 0, "replace": 1, "delete": 0}
    assert review.creates == ()


def test_data_bearing_delete_and_replace_block_unless_allowed() -> None:
    """Losing a bucket or catalog table is what a rollback cannot undo."""
    review = review_plan(
        plan(
            change("aws_s3_bucket.bronze", "delete"),
            change("aws_glue_catalog_table.transactions", "create", "delete"),
            change("module.lake.aws_dynamodb_table.runs", "update"),
        )
    )
    assert review.destructive == ("aws_s3_bucket.bronze", "aws_glue_catalog_table.transactions")
    assert review.blocked(allow_destroy=False) == [
        "would delete data-bearing aws_s3_bucket.bronze (pass --allow-destroy to accept)",
        "would replace data-bearing aws_glue_catalog_table.transactions "
        "(pass --allow-destroy to accept)",
    ]
    assert review.blocked(allow_destroy=True) == []


README_DATA_BEARING_TYPES = (
    "aws_s3_bucket",
    "aws_glue_catalog_database",
    "aws_glue_catalog_table",
    "aws_dynamodb_table",
)
"""The data-bearing types the README names, written out: a type dropped from the
implementation's set must fail here, not silently shrink the loop."""


@pytest.mark.parametrize("type_", README_DATA_BEARING_TYPES)
@pytest.mark.parametrize(
    "actions", [("delete",), ("delete", "create"), ("create", "delete")], ids=str
)
def test_every_data_bearing_type_blocks(type_: str, actions: tuple[str, ...]) -> None:
    """Each type the README calls data-bearing blocks a delete and a replace on its own."""
    review = review_plan(plan(change(f"{type_}.x", *actions)))
    assert review.blocked(allow_destroy=False), type_


def test_non_data_bearing_delete_is_not_blocked() -> None:
    """Deleting a job or a role is an ordinary part of reverting a deployment."""
    review = review_plan(plan(change("aws_glue_job.new_job", "delete")))
    assert review.destructive == ()
    assert review.blocked(allow_destroy=False) == []
    assert review.totals["delete"] == 1


def test_creates_are_flagged() -> None:
    """A rollback should recreate nothing; a create hints at the wrong state version."""
    review = review_plan(
        plan(change("aws_s3_bucket.silver", "create"), change("aws_glue_job.etl", "update"))
    )
    assert review.creates == ("aws_s3_bucket.silver",)
    assert review.warnings() == ["plan creates aws_s3_bucket.silver: wrong state version selected?"]
    assert review.blocked(allow_destroy=False) == []


def test_deposed_object_is_named() -> None:
    """A deposed object shares its resource's address; the review says which it is."""
    review = review_plan(plan(change("aws_s3_bucket.bronze", "delete", deposed="a1b2c3d4")))
    assert review.destructive == ("aws_s3_bucket.bronze (deposed object a1b2c3d4)",)


def test_outputs_only_plan_is_all_zero() -> None:
    """Real Terraform here can only plan outputs: no resource_changes key at all."""
    review = review_plan(
        plan(outputs={"deployment": ["update"], "bucket": ["no-op"], "new": ["create"]})
    )
    assert review.counts == {}
    assert review.totals == {"create": 0, "update": 0, "replace": 0, "delete": 0}
    assert review.output_changes == {"deployment": "update", "new": "create"}
    assert review.blocked(allow_destroy=False) == []
    assert review.warnings() == []


def test_render_table_and_totals() -> None:
    """One row per type, then Terraform's own totals wording plus replace."""
    review = review_plan(
        plan(
            change("aws_s3_bucket.bronze", "update"),
            change("aws_glue_job.etl", "delete", "create"),
            change("aws_glue_job.stale", "delete"),
            outputs={"deployment": ["update"]},
        )
    )
    lines = render_review(review)
    assert lines[0].split() == ["resource", "type", "create", "update", "replace", "delete"]
    assert lines[1].split() == ["aws_glue_job", "0", "0", "1", "1"]
    assert lines[2].split() == ["aws_s3_bucket", "0", "1", "0", "0"]
    assert lines[-2] == "Output changes: deployment (update)"
    assert lines[-1] == "Plan: 0 to create, 1 to update, 1 to replace, 1 to delete"
    assert all(len(line) <= 100 for line in lines)


def test_render_empty_plan() -> None:
    """No changes still ends with the totals line the log and audit record show."""
    assert render_review(review_plan(plan())) == [
        "No resource changes.",
        "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object"),
        ({"resource_changes": []}, "no format_version"),
        ({"format_version": "2.0"}, "unsupported format_version '2.0'"),
        ({"format_version": "1.0", "resource_changes": {}}, "resource_changes must be a list"),
        ({"format_version": "1.0", "resource_changes": ["x"]}, "resource_changes[0]: expected"),
        (
            {"format_version": "1.0", "resource_changes": [{"address": "a.b", "type": "a"}]},
            "a.b: change.actions must be a list",
        ),
        (plan(change("aws_s3_bucket.x", "explode")), "unknown change.actions ['explode']"),
        ({"format_version": "1.0", "output_changes": []}, "output_changes must be an object"),
        (plan(outputs={"o": ["nope"]}), "output o: unknown change.actions"),
    ],
)
def test_malformed_plan_is_one_clear_error(document: Any, message: str) -> None:
    """A document the review cannot read must stop the apply, not pass as 'no changes'."""
    with pytest.raises(PlanFormatError) as raised:
        review_plan(document)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, OhpenError)
    assert "\n" not in str(raised.value)


def test_review_is_frozen() -> None:
    """The review is a record of what was decided on; it cannot be edited afterwards."""
    review = review_plan(plan())
    assert isinstance(review, PlanReview)
    with pytest.raises(AttributeError):
        review.creates = ("x",)  # type: ignore[misc]
