"""The readiness report names the exact command that applies the rollback and what the
rollback would change (current → target state, resource by resource), in JSON (two new keys,
every other key as before) and in Markdown; an unknown difference is never "no changes"."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_ohpen.readiness.apply_command import ApplyCommand, apply_command
from pytest_ohpen.readiness.decide import decide
from pytest_ohpen.readiness.facts import ReadinessFacts, StateFacts, VersionFacts
from pytest_ohpen.readiness.git_facts import GitFacts
from pytest_ohpen.readiness.render import summary_lines, to_json, to_markdown
from pytest_ohpen.readiness.report import Report, build_report
from pytest_ohpen.readiness.state_diff import AttributeChange, ResourceChange, StateDiff
from pytest_ohpen.rollback.trigger import build_command
from pytest_ohpen.terraform.state_versions import StateSummary, StateVersion

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TEMPLATE = ("scripts/rollback_terraform.sh", "--env", "{env}", "--target-version", "{target_ref}")
VERSIONS = (
    StateVersion("v3", NOW, True, 4000),
    StateVersion("v2", NOW - timedelta(hours=1), False, 4000),
)
DIFF = StateDiff(
    added=("aws_s3_bucket.bronze",),
    removed=("aws_sns_topic.extra",),
    changed=(
        ResourceChange(
            "aws_glue_job.etl",
            (
                AttributeChange("worker_type", '"G.2X"', '"G.1X"'),
                AttributeChange("password", None, None, "sensitive"),
            ),
        ),
    ),
)
OLD_KEYS = {
    "schema_version",
    "kind",
    "generated_at",
    "generator",
    "environment",
    "verdict",
    "rollback_possible",
    "blockers",
    "warnings",
    "checks",
    "failed_checks",
    "inconclusive_checks",
    "affected",
    "target",
    "current",
    "state",
    "lock",
    "running",
    "unversioned_buckets",
    "git",
    "unverified",
    "extra",
    "operator",
    "rollback",
}
"""The report's keys before the apply command and the changes were added."""


def facts(**changes: Any) -> ReadinessFacts:
    """``ohpen readiness`` on a healthy deployment: READY to go back to v2 and HEAD~1."""
    summary = StateSummary(4, "1.0.3", 12, "lineage-1", 9)
    healthy = ReadinessFacts(
        environment="prod",
        account_id="123456789012",
        region="eu-west-1",
        checks_ran=False,
        state=StateFacts(
            bucket="ohpen-terraform-state",
            key="ohpen-data-lake/terraform.tfstate",
            versioning="Enabled",
            versions=VERSIONS,
            current=VersionFacts(VERSIONS[0], summary),
            target=VersionFacts(VERSIONS[1], replace(summary, serial=11)),
            target_source="previous",
            changes=DIFF,
        ),
        git=GitFacts(Path("/srv/infra"), "a" * 40, "HEAD~1", "b" * 40, False, None),
        apply_command=apply_command(TEMPLATE, "prod", "HEAD~1", "v2"),
    )
    return replace(healthy, **changes)


def report_of(given: ReadinessFacts) -> Report:
    return build_report(given, decide(given), NOW, {"aws_caller": "arn:aws:iam::1:user/ci"})


def data(report: Report) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(to_json(report))
    return loaded


def with_state(**changes: Any) -> ReadinessFacts:
    state = facts().state
    assert state is not None
    return facts(state=replace(state, **changes))


def test_the_apply_command_is_the_rollback_command_filled_with_apply() -> None:
    command = apply_command(TEMPLATE, "prod", "HEAD~1", "v2")

    assert command == ApplyCommand(
        (
            "scripts/rollback_terraform.sh",
            "--env",
            "prod",
            "--target-version",
            "HEAD~1",
            "--apply",
        )
    )
    assert (
        command.text == "scripts/rollback_terraform.sh --env prod --target-version HEAD~1 --apply"
    )
    dry_run = build_command(TEMPLATE, "dry-run", {"env": "prod", "target_ref": "HEAD~1"})
    assert command.argv == (*dry_run[:-1], "--apply"), "the trigger's command, in apply mode"


def test_an_apply_command_that_cannot_be_named_says_why() -> None:
    needs_version = ("ohpen", "state", "restore", "{state_version}", "--env", "{env}")

    assert apply_command((), "prod", "HEAD~1", "v2") == ApplyCommand(
        None, "no [prod.rollback] command is configured"
    )
    missing = apply_command(needs_version, "prod", "HEAD~1", None)
    assert missing.argv is None
    assert missing.error is not None and "{state_version}" in missing.error
    filled = apply_command(needs_version, "local", None, "v-7")
    assert filled.text == "ohpen state restore v-7 --env local --apply"


def test_the_json_report_adds_two_keys_and_keeps_the_others() -> None:
    report = data(report_of(facts()))
    without = data(report_of(facts(apply_command=None, state=None)))

    assert set(report) == OLD_KEYS | {"apply_command", "rollback_changes", "impact"}
    assert report["apply_command"] == {
        "argv": [*TEMPLATE[:2], "prod", "--target-version", "HEAD~1", "--apply"],
        "text": "scripts/rollback_terraform.sh --env prod --target-version HEAD~1 --apply",
        "error": None,
    }
    assert report["rollback_changes"] == {
        "known": True,
        "unknown_reason": None,
        "current_state_version": "v3",
        "target_state_version": "v2",
        "counts": {"added": 1, "removed": 1, "changed": 1},
        "added": ["aws_s3_bucket.bronze"],
        "removed": ["aws_sns_topic.extra"],
        "changed": [
            {
                "address": "aws_glue_job.etl",
                "attributes": [
                    {
                        "name": "worker_type",
                        "current": '"G.2X"',
                        "target": '"G.1X"',
                        "hidden": None,
                    },
                    {"name": "password", "current": None, "target": None, "hidden": "sensitive"},
                ],
            }
        ],
    }
    assert (without["apply_command"], without["rollback_changes"]) == (None, None)


def test_the_markdown_names_the_command_and_each_change() -> None:
    markdown = to_markdown(report_of(facts()))

    assert "## Apply the rollback" in markdown
    assert (
        "- `scripts/rollback_terraform.sh --env prod --target-version HEAD~1 --apply`" in markdown
    )
    assert "## What the rollback would change (state version `v3` → `v2`)" in markdown
    assert "- add (the target has it, the current state does not): `aws_s3_bucket.bronze`" in (
        markdown
    )
    assert "- remove (only the current state has it): `aws_sns_topic.extra`" in markdown
    assert (
        '- change `aws_glue_job.etl`: `worker_type` ("G.2X" → "G.1X"), '
        "`password` (sensitive, not shown)"
    ) in markdown


def test_an_unknown_difference_is_never_no_changes() -> None:
    """The target's body could not be read: the report says unknown and why, and warns."""
    unknown = "target state version v2 could not be read"
    report = report_of(with_state(changes=None, changes_unknown=unknown))

    changes = data(report)["rollback_changes"]
    assert changes["known"] is False
    assert changes["unknown_reason"] == unknown
    assert changes["added"] is None and changes["changed"] is None
    markdown = to_markdown(report)
    assert f"- unknown: {unknown} (not the same as no changes)" in markdown
    assert "no resource changes" not in markdown
    warning = next(w for w in data(report)["warnings"] if w["code"] == "rollback_changes_unknown")
    assert unknown in warning["message"]


def test_an_empty_difference_says_no_resource_changes() -> None:
    markdown = to_markdown(report_of(with_state(changes=StateDiff((), (), ()))))
    assert "- no resource changes (outputs may still change)" in markdown


def test_a_command_that_cannot_be_named_is_said_in_the_markdown() -> None:
    command = ApplyCommand(None, "no [prod.rollback] command is configured")
    markdown = to_markdown(report_of(facts(apply_command=command)))
    assert "- cannot be named: no [prod.rollback] command is configured" in markdown


def test_a_ready_summary_names_the_apply_command_and_not_needed_shows_no_plan() -> None:
    assert "  apply: scripts/rollback_terraform.sh --env prod --target-version HEAD~1 --apply" in (
        summary_lines(report_of(facts()), [])
    )
    not_needed = report_of(facts(checks_ran=True, passed=3))
    assert not any(line.startswith("  apply:") for line in summary_lines(not_needed, []))
    assert "## Apply the rollback" not in to_markdown(not_needed)
    assert data(not_needed)["apply_command"] is not None, "the JSON has it all the same"


def test_many_changes_are_cut_in_the_markdown_not_in_the_json() -> None:
    many = StateDiff(tuple(f"aws_s3_bucket.b{n:02}" for n in range(60)), (), ())
    report = report_of(with_state(changes=many))

    markdown = to_markdown(report)
    assert "- … and 20 more (see the JSON report)" in markdown
    assert len(data(report)["rollback_changes"]["added"]) == 60


def test_the_command_text_quotes_only_what_a_shell_would_change() -> None:
    command = ApplyCommand(("scripts/x.sh", "--reason", "bad deploy", "HEAD~1", "~me", "$HOME"))
    assert command.text == "scripts/x.sh --reason 'bad deploy' HEAD~1 '~me' '$HOME'"
