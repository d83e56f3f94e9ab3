"""The readiness report: built as plain JSON-ready data, rendered as Markdown and as a
few terminal lines. JSON is the source of truth; Markdown and terminal read from it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_ohpen import __version__
from pytest_ohpen.readiness.decide import Verdict
from pytest_ohpen.readiness.facts import ReadinessFacts, VersionFacts

SCHEMA_VERSION = 1


def build_report(facts: ReadinessFacts, verdict: Verdict, generated_at: datetime) -> dict[str, Any]:
    """The report as plain data (``schema_version`` 1)."""
    state = facts.state
    git = facts.git
    report: dict[str, Any] = _plain(
        {
            "schema_version": SCHEMA_VERSION,
            "kind": "readiness_report",
            "generated_at": generated_at,
            "generator": f"pytest-ohpen {__version__}",
            "environment": {
                "name": facts.environment,
                "account_id": facts.account_id,
                "region": facts.region,
            },
            "verdict": verdict.verdict,
            "rollback_possible": verdict.rollback_possible,
            "blockers": [dataclasses.asdict(r) for r in verdict.blockers],
            "warnings": [dataclasses.asdict(r) for r in verdict.warnings],
            "checks": {
                "ran": facts.checks_ran,
                "passed": facts.passed,
                "failed": len(facts.failed_checks),
                "passed_on_retry": list(facts.passed_on_retry),
            },
            "failed_checks": [dataclasses.asdict(c) for c in facts.failed_checks],
            "affected": facts.affected,
            "target": _target(facts),
            "current": _version(state.current) if state and state.current else None,
            "state": None
            if state is None
            else {
                "bucket": state.bucket,
                "key": state.key,
                "versioning": state.versioning,
                "versions": [dataclasses.asdict(v) for v in state.versions],
            },
            "lock": dataclasses.asdict(facts.lock) if facts.lock else None,
            "running": [dataclasses.asdict(w) for w in facts.running],
            "unversioned_buckets": list(facts.unversioned_buckets),
            "git": dataclasses.asdict(git) if git else None,
            "unverified": list(facts.unverified),
            "extra": facts.extra,
            "rollback": None,
        }
    )
    return report


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


def _target(facts: ReadinessFacts) -> dict[str, Any] | None:
    state, git = facts.state, facts.git
    if (state is None or state.target is None) and git is None:
        return None
    target = _version(state.target) if state and state.target else {}
    target["source"] = state.target_source if state else None
    target["known_good_mark"] = state.known_good_mark if state else None
    target["git_ref"] = git.target_ref if git else None
    target["git_commit"] = git.target_commit if git else None
    return target


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes as ISO 8601 UTC with Z, paths as strings, tuples as lists."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(report: dict[str, Any]) -> str:
    """The report as stable, human-diffable JSON."""
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    """The report for people: verdict and reasons first, then the facts behind them."""
    env = report["environment"]
    lines = [
        f"# Rollback readiness: {env['name']} — {report['verdict']}",
        "",
        f"Account {env['account_id']}, {env['region']}; generated {report['generated_at']} "
        f"by {report['generator']}.",
        "",
    ]
    lines += _section("Blocking a rollback now", [b["message"] for b in report["blockers"]])
    lines += _section("Warnings", [w["message"] for w in report["warnings"]])
    checks = report["checks"]
    if checks["ran"]:
        failed = [f"`{c['nodeid']}`: {c['message']}" for c in report["failed_checks"]]
        lines += _section(
            f"Failed checks ({checks['failed']} failed, {checks['passed']} passed)",
            failed or ["none"],
        )
        if checks["passed_on_retry"]:
            lines += _section("Passed on retry", [f"`{n}`" for n in checks["passed_on_retry"]])
    if report["affected"]:
        lines += _section("Affected", report["affected"])
    lines += _section("Roll back to", _target_lines(report))
    lines += _section("Current", _current_lines(report))
    if report.get("rollback"):
        lines += _section("Rollback trigger", _trigger_lines(report["rollback"]))
    return "\n".join(lines).rstrip() + "\n"


def _section(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"## {title}", "", *(f"- {item}" for item in items), ""]


def _target_lines(report: dict[str, Any]) -> list[str]:
    target = report["target"]
    if not target:
        return ["unknown"]
    lines = []
    if target.get("state_version_id"):
        lines.append(
            f"state version `{target['state_version_id']}` (serial {target['serial']}, "
            f"lineage {target['lineage']}, {target['last_modified']}; "
            f"{'known good' if target['source'] == 'known_good' else 'previous version'})"
        )
    if target.get("git_ref"):
        lines.append(f"git `{target['git_ref']}` = `{target['git_commit'] or 'unresolved'}`")
    return lines or ["unknown"]


def _current_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    current = report["current"]
    if current:
        lines.append(
            f"state version `{current['state_version_id']}` (serial {current['serial']}, "
            f"{current['last_modified']})"
        )
    git = report["git"]
    if git and git.get("head"):
        lines.append(f"git HEAD `{git['head']}`{' (uncommitted changes)' if git['dirty'] else ''}")
    return lines


def _trigger_lines(trigger: dict[str, Any]) -> list[str]:
    lines = [f"mode: {trigger['mode']}"]
    lines += [f"not applied: {reason}" for reason in trigger.get("fallback_reasons", [])]
    if trigger.get("command"):
        lines.append(f"command: `{' '.join(trigger['command'])}`")
    if trigger.get("exit_code") is not None:
        lines.append(f"exit code {trigger['exit_code']} after {trigger['duration_seconds']:.1f} s")
    if trigger.get("error"):
        lines.append(f"error: {trigger['error']}")
    return lines


def summary_lines(report: dict[str, Any], written_to: list[Path]) -> list[str]:
    """A few lines for pytest's terminal summary."""
    lines = [f"verdict: {report['verdict']} ({report['environment']['name']})"]
    lines += [f"  blocked: {b['message']}" for b in report["blockers"]]
    retried = report["checks"]["passed_on_retry"]
    if retried:
        lines.append(f"  passed on retry: {len(retried)} ({', '.join(retried)})")
    target = report["target"] or {}
    if report["verdict"] != "NOT_NEEDED" and target:
        lines.append(
            f"  roll back to: state version {target.get('state_version_id') or '?'}, "
            f"git {target.get('git_ref')} = {target.get('git_commit') or 'unresolved'}"
        )
    if report["affected"]:
        lines.append(f"  affected: {', '.join(report['affected'])}")
    trigger = report.get("rollback")
    if trigger:
        lines.append(
            f"  rollback: {trigger['mode']}"
            + (
                f", exit code {trigger['exit_code']}"
                if trigger.get("exit_code") is not None
                else ""
            )
            + (f" ({trigger['error']})" if trigger.get("error") else "")
        )
    lines += [f"  report: {path}" for path in written_to]
    return lines
