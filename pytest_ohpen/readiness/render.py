"""The readiness report at the edge: JSON-ready data (``schema_version`` 1), the JSON file,
the Markdown file and a few terminal lines, each rendered from the typed
:class:`~pytest_ohpen.readiness.report.Report` and each redacted.

Whatever leaves the process (files, audit records, hook copies, Allure attachments) is
rendered here, so one schema and one redaction apply to all of it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.readiness.report import SCHEMA_VERSION, Report, TriggerRecord
from pytest_ohpen.records.redact import redact, redact_text
from pytest_ohpen.util.jsonable import iso_utc, jsonable

if TYPE_CHECKING:
    from pytest_ohpen.readiness.apply_command import ApplyCommand
    from pytest_ohpen.readiness.facts import StateFacts, VersionFacts
    from pytest_ohpen.readiness.impact import Impact
    from pytest_ohpen.readiness.state_diff import ResourceChange

CHANGES_SHOWN = 40
"""How many resource lines the Markdown lists of what a rollback changes; the JSON has all."""


def as_data(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data, redacted; a fresh copy on every call (what hooks get)."""
    state = report.state
    target = report.target
    data = {
        "schema_version": SCHEMA_VERSION,
        "kind": "readiness_report",
        "generated_at": report.generated_at,
        "generator": report.generator,
        "environment": dataclasses.asdict(report.environment),
        "verdict": report.verdict.verdict,
        "rollback_possible": report.verdict.rollback_possible,
        "blockers": [dataclasses.asdict(r) for r in report.verdict.blockers],
        "warnings": [dataclasses.asdict(r) for r in report.verdict.warnings],
        "checks": {
            "ran": report.checks.ran,
            "passed": report.checks.passed,
            "failed": len(report.failed_checks),
            "inconclusive": len(report.inconclusive_checks),
            "passed_on_retry": list(report.checks.passed_on_retry),
        },
        "failed_checks": [dataclasses.asdict(c) for c in report.failed_checks],
        "inconclusive_checks": [dataclasses.asdict(c) for c in report.inconclusive_checks],
        "affected": list(report.affected),
        "impact": [dataclasses.asdict(one) for one in report.impact],
        "target": None
        if target is None
        else {
            **(_version(target.version) if target.version else {}),
            "source": target.source,
            "known_good_mark": target.known_good_mark,
            "git_ref": target.git_ref,
            "git_commit": target.git_commit,
        },
        "current": _version(report.current) if report.current else None,
        "state": None
        if state is None
        else {
            "bucket": state.bucket,
            "key": state.key,
            "versioning": state.versioning,
            "versions": [dataclasses.asdict(v) for v in state.versions],
        },
        "lock": dataclasses.asdict(report.lock) if report.lock else None,
        "running": [dataclasses.asdict(w) for w in report.running],
        "unversioned_buckets": list(report.unversioned_buckets),
        "git": dataclasses.asdict(report.git) if report.git else None,
        "unverified": list(report.unverified),
        "extra": report.extra,
        "operator": report.operator,
        "rollback": trigger_data(report.rollback) if report.rollback else None,
        "apply_command": _apply_command(report.apply_command),
        "rollback_changes": _changes(state),
    }
    result: dict[str, Any] = redact(jsonable(data))
    return result


def trigger_data(trigger: TriggerRecord) -> dict[str, Any]:
    """The trigger's record as the report's ``rollback`` object and the audit record's data
    (not redacted here: :func:`as_data` and the audit store redact what they write)."""
    data: dict[str, Any] = {
        "requested": trigger.requested,
        "mode": trigger.mode,
        "fallback_reasons": list(trigger.fallback_reasons),
        "approved_by": trigger.approved_by,
        "command": list(trigger.command) if trigger.command is not None else None,
        "exit_code": trigger.exit_code,
        "duration_seconds": trigger.duration_seconds,
        "output": list(trigger.output),
        "error": trigger.error,
    }
    if trigger.timed_out is not None:  # the command ran
        data["timed_out"] = trigger.timed_out
    return data


def _apply_command(command: ApplyCommand | None) -> dict[str, Any] | None:
    if command is None:
        return None
    argv = list(command.argv) if command.argv is not None else None
    return {"argv": argv, "text": command.text, "error": command.error}


def _changes(state: StateFacts | None) -> dict[str, Any] | None:
    """What a rollback would change (current → target), or why it is not known."""
    if state is None:
        return None
    diff = state.changes
    return {
        "known": diff is not None,
        "unknown_reason": state.changes_unknown if diff is None else None,
        "current_state_version": state.current.version.version_id if state.current else None,
        "target_state_version": state.target.version.version_id if state.target else None,
        "counts": None
        if diff is None
        else {"added": len(diff.added), "removed": len(diff.removed), "changed": len(diff.changed)},
        "added": list(diff.added) if diff else None,
        "removed": list(diff.removed) if diff else None,
        "changed": [dataclasses.asdict(c) for c in diff.changed] if diff else None,
    }


def _version(facts: VersionFacts) -> dict[str, Any]:
    summary = facts.summary
    return {
        "state_version_id": facts.version.version_id,
        "last_modified": facts.version.last_modified,
        "size": facts.version.size,
        "serial": summary.serial if summary else None,
        "lineage": summary.lineage if summary else None,
        "terraform_version": summary.terraform_version if summary else None,
        "format_version": summary.format_version if summary else None,
        "parse_error": facts.parse_error,
    }


def to_json(report: Report) -> str:
    """The report as stable, human-diffable JSON."""
    return json.dumps(as_data(report), indent=2, sort_keys=True) + "\n"


def to_markdown(report: Report) -> str:
    """The report for people: verdict and reasons first, then the facts behind them."""
    env, verdict = report.environment, report.verdict
    lines = [
        f"# Rollback readiness: {env.name} — {verdict.verdict}",
        "",
        f"Account {env.account_id}, {env.region}; generated {iso_utc(report.generated_at)} "
        f"by {report.generator}.",
        "",
    ]
    lines += _section("Blocking a rollback now", [b.message for b in verdict.blockers])
    lines += _section("Warnings", [w.message for w in verdict.warnings])
    checks = report.checks
    if checks.ran:
        failed = [f"`{c.nodeid}`: {c.message}" for c in report.failed_checks]
        lines += _section(
            f"Failed checks ({len(report.failed_checks)} failed, {checks.passed} passed)",
            failed or ["none"],
        )
        lines += _section(
            f"Inconclusive checks ({len(report.inconclusive_checks)}: could not be performed)",
            [f"`{c.nodeid}`: {c.message}" for c in report.inconclusive_checks],
        )
        if checks.passed_on_retry:
            lines += _section("Passed on retry", [f"`{n}`" for n in checks.passed_on_retry])
    lines += _section(
        "What the failed resources affect (from the account)", _impact_lines(report.impact)
    )
    if report.affected:
        lines += _section("Affected (from the environments file)", list(report.affected))
    lines += _section("Roll back to", _target_lines(report))
    if verdict.verdict != "NOT_NEEDED":
        lines += _section("Apply the rollback", _apply_lines(report.apply_command))
        if report.state is not None:
            lines += _section(_changes_title(report.state), _changes_lines(report.state))
    lines += _section("Current", _current_lines(report))
    if report.rollback:
        lines += _section("Rollback trigger", _trigger_lines(report.rollback))
    return redact_text("\n".join(lines).rstrip() + "\n")


def _section(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"## {title}", "", *(f"- {item}" for item in items), ""]


def _impact_lines(impact: tuple[Impact, ...]) -> list[str]:
    """Per failed resource: each table, job and state machine the account shows it affects,
    each listing that could not be read, then what the environments file adds."""
    lines = []
    for one in impact:
        name = f"{one.kind_label} `{one.resource}`"
        if not one.looked_up:
            lines.append(f"{name}: not looked up (the account's listings do not name it)")
        elif one.nothing_found:
            lines.append(f"{name}: nothing in the account's tables, jobs or state machines")
        for what, found in (
            ("table", one.tables),
            ("Glue job", one.jobs),
            ("state machine", one.state_machines),
        ):
            lines += [f"{name} → {what} `{a.name}` ({a.why})" for a in found]
        lines += [f"{name} → {u} (not the same as nothing affected)" for u in one.unknown]
        if one.from_file:
            lines.append(f"{name} → from the environments file: {', '.join(one.from_file)}")
    return lines


def _target_lines(report: Report) -> list[str]:
    target = report.target
    if not target:
        return ["unknown"]
    lines = []
    if target.version and target.state_version_id:
        version, summary = target.version.version, target.version.summary
        lines.append(
            f"state version `{version.version_id}` (serial {summary.serial if summary else None}, "
            f"lineage {summary.lineage if summary else None}, {iso_utc(version.last_modified)}; "
            f"{'known good' if target.source == 'known_good' else 'previous version'})"
        )
    if target.git_ref:
        lines.append(f"git `{target.git_ref}` = `{target.git_commit or 'unresolved'}`")
    return lines or ["unknown"]


def _apply_lines(command: ApplyCommand | None) -> list[str]:
    if command is None:
        return []
    if command.text is None:
        return [f"cannot be named: {command.error}"]
    return [f"`{command.text}`"]


def _changes_title(state: StateFacts) -> str:
    if state.current is None or state.target is None:
        return "What the rollback would change"
    return (
        f"What the rollback would change (state version `{state.current.version.version_id}` "
        f"→ `{state.target.version.version_id}`)"
    )


def _changes_lines(state: StateFacts) -> list[str]:
    diff = state.changes
    if diff is None:
        return [f"unknown: {state.changes_unknown or 'not compared'} (not the same as no changes)"]
    if diff.empty:
        return ["no resource changes (outputs may still change)"]
    lines = [f"add (the target has it, the current state does not): `{a}`" for a in diff.added]
    lines += [f"remove (only the current state has it): `{a}`" for a in diff.removed]
    lines += [f"change `{c.address}`: {_attribute_list(c)}" for c in diff.changed]
    if len(lines) > CHANGES_SHOWN:
        hidden = len(lines) - CHANGES_SHOWN
        lines = [*lines[:CHANGES_SHOWN], f"… and {hidden} more (see the JSON report)"]
    return lines


def _attribute_list(change: ResourceChange) -> str:
    shown = []
    for attribute in change.attributes:
        if attribute.hidden:
            shown.append(f"`{attribute.name}` ({attribute.hidden}, not shown)")
        else:
            shown.append(f"`{attribute.name}` ({attribute.current} → {attribute.target})")
    return ", ".join(shown)


def _current_lines(report: Report) -> list[str]:
    lines = []
    current = report.current
    if current:
        summary = current.summary
        lines.append(
            f"state version `{current.version.version_id}` "
            f"(serial {summary.serial if summary else None}, "
            f"{iso_utc(current.version.last_modified)})"
        )
    git = report.git
    if git and git.head:
        lines.append(f"git HEAD `{git.head}`{' (uncommitted changes)' if git.dirty else ''}")
    return lines


def _trigger_lines(trigger: TriggerRecord) -> list[str]:
    lines = [f"mode: {trigger.mode}"]
    lines += [f"not applied: {reason}" for reason in trigger.fallback_reasons]
    if trigger.command:
        lines.append(f"command: `{' '.join(trigger.command)}`")
    if trigger.exit_code is not None:
        lines.append(f"exit code {trigger.exit_code} after {trigger.duration_seconds:.1f} s")
    if trigger.error:
        lines.append(f"error: {trigger.error}")
    return lines


def _impact_summary(one: Impact) -> str:
    """'  in the account, bucket ohpen-silver affects: table lake.tx, Glue job etl'."""
    found = [f"table {a.name}" for a in one.tables]
    found += [f"Glue job {a.name}" for a in one.jobs]
    found += [f"state machine {a.name}" for a in one.state_machines]
    shown = ", ".join(found) or "nothing found"
    unknown = f" ({len(one.unknown)} listing(s) could not be read)" if one.unknown else ""
    return f"  in the account, {one.label} affects: {shown}{unknown}"


def summary_lines(report: Report, written_to: list[Path]) -> list[str]:
    """A few lines for pytest's terminal summary (and the --notify message)."""
    verdict = report.verdict.verdict
    lines = [f"verdict: {verdict} ({report.environment.name})"]
    lines += [f"  blocked: {b.message}" for b in report.verdict.blockers]
    unchecked = report.inconclusive_checks
    if unchecked:
        lines.append(f"  inconclusive: {len(unchecked)} (could not be performed, not failed)")
    retried = report.checks.passed_on_retry
    if retried:
        lines.append(f"  passed on retry: {len(retried)} ({', '.join(retried)})")
    target = report.target
    if verdict != "NOT_NEEDED" and target:
        lines.append(
            f"  roll back to: state version {target.state_version_id or '?'}, "
            f"git {target.git_ref} = {target.git_commit or 'unresolved'}"
        )
    if report.affected:
        lines.append(f"  affected: {', '.join(report.affected)}")
    lines += [_impact_summary(one) for one in report.impact if one.looked_up]
    command = report.apply_command
    if verdict == "READY" and command is not None and command.text:
        lines.append(f"  apply: {command.text}")
    trigger = report.rollback
    if trigger:
        lines.append(
            f"  rollback: {trigger.mode}"
            + (f", exit code {trigger.exit_code}" if trigger.exit_code is not None else "")
            + (f" ({trigger.error})" if trigger.error else "")
        )
    lines += [f"  report: {path}" for path in written_to]
    return [redact_text(line) for line in lines]
