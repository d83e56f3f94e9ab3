"""What happens when a checking run ends (and what ``ohpen readiness`` does without checks):
gather facts, decide, trigger the rollback command, write the report and the audit records.

Shared by the plugin's session-finish hook and the CLI, so both give the same report.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.readiness.decide import NOT_NEEDED, Verdict, decide
from pytest_ohpen.readiness.facts import FailedCheck
from pytest_ohpen.readiness.gather import gather
from pytest_ohpen.readiness.report import build_report, summary_lines, to_json, to_markdown
from pytest_ohpen.records.redact import redact, redact_text
from pytest_ohpen.rollback.handoff import Handoff
from pytest_ohpen.rollback.trigger import (
    CommandError,
    build_command,
    decide_trigger,
    rollback_handoff,
    run_rollback,
)
from pytest_ohpen.util.files import write_atomic

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.plugin.outcomes import CheckOutcomes
    from pytest_ohpen.records.store import AuditStore

CI_VARIABLES = (
    "GITHUB_ACTOR",
    "GITHUB_TRIGGERING_ACTOR",
    "GITHUB_WORKFLOW",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_REF",
    "CI_PIPELINE_ID",
    "CI_JOB_ID",
    "BUILD_ID",
    "USER",
)


def operator_identity(caller_arn: str | None) -> dict[str, str]:
    """Who is acting: the AWS identity (from the account guard) and the CI's variables."""
    identity = {"aws_caller": caller_arn or "unknown"}
    identity.update({name: os.environ[name] for name in CI_VARIABLES if os.environ.get(name)})
    return identity


@dataclass
class Hooks:
    """The conftest hooks, or none (the CLI has no conftest)."""

    facts: Callable[..., Any] = lambda **_: None
    report: Callable[..., Any] = lambda **_: None
    veto: Callable[..., list[str | None]] = lambda **_: []


@dataclass
class Finish:
    """Everything the end of a run needs to know, gathered from options and the run."""

    env: Environment
    clients: AwsClients
    audit: AuditStore
    repo: Path
    report_path: Path
    caller_arn: str | None = None
    rollback_mode: str | None = None
    target_ref: str | None = None
    approved_by: str | None = None
    notify: bool = False
    complete_run: bool = True
    """False when tests were deselected (-k, -m, --lf): a pass then marks nothing known-good."""
    hooks: Hooks = field(default_factory=Hooks)
    write_line: Callable[[str], None] = print
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def operator(self) -> dict[str, str]:
        """Who ran this: the AWS identity and the CI's variables (never credentials)."""
        return operator_identity(self.caller_arn)


@dataclass(frozen=True)
class Finished:
    """The report as written, and the lines that summarise it."""

    report: dict[str, Any]
    lines: list[str]

    @property
    def rollback_possible(self) -> bool:
        return bool(self.report["rollback_possible"])


def finish(run: Finish, outcomes: CheckOutcomes | None) -> Finished:
    """Decide, trigger, report and record; ``outcomes`` None means no checks ran."""
    env = run.env
    failed = (
        []
        if outcomes is None
        else [
            FailedCheck(
                nodeid,
                outcomes.messages.get(nodeid, "failed"),
                *outcomes.resources[nodeid],
                affects=env.affected_by(outcomes.resources[nodeid][0] or ""),
            )
            for nodeid in outcomes.failed
        ]
    )
    facts = gather(
        env,
        run.clients,
        run.audit,
        repo=run.repo,
        checks_ran=outcomes is not None,
        failed=failed,
        passed=len(outcomes.passed) if outcomes else 0,
        passed_on_retry=outcomes.passed_on_retry if outcomes else [],
        target_ref=run.target_ref,
    )
    run.hooks.facts(facts=facts, env=env)
    verdict = decide(facts)
    report = build_report(facts, verdict, run.clock())
    report["operator"] = run.operator()
    if outcomes is not None and facts.failed_checks:
        report["rollback"] = _trigger(run, report, verdict)
    report = redact(report)
    written = _write_report(run.report_path, report)
    run.audit.write("readiness_report", env.name, report)
    if report.get("rollback") and report["rollback"]["mode"] != "off":
        run.audit.write(
            "rollback_trigger",
            env.name,
            {**report["rollback"], "operator": report["operator"], "verdict": report["verdict"]},
        )
    if outcomes is not None and verdict.verdict == NOT_NEEDED and run.complete_run:
        _mark_known_good(run, report, len(outcomes.passed))
    if run.notify and facts.failed_checks:
        _notify(run, report)
    run.hooks.report(report=report, env=env)
    return Finished(report, summary_lines(report, written))


def _trigger(run: Finish, report: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    """Run the rollback command in the mode the gates allow; what happened, as data."""
    env = run.env
    requested = run.rollback_mode or env.rollback.mode
    vetoes = (
        [v for v in run.hooks.veto(report=report, env=env) if v] if requested == "apply" else []
    )
    decision = decide_trigger(
        requested,
        environment=env.name,
        auto_apply=env.rollback.auto_apply,
        approver=run.approved_by,
        verdict=verdict.verdict,
        vetoes=vetoes,
    )
    record: dict[str, Any] = {
        "requested": decision.requested,
        "mode": decision.mode,
        "fallback_reasons": list(decision.fallback_reasons),
        "approved_by": run.approved_by,
        "command": None,
        "exit_code": None,
        "duration_seconds": None,
        "output": [],
        "error": None,
    }
    for reason in decision.fallback_reasons:
        run.write_line(f"ohpen: rollback not applied: {reason}")
    if decision.mode == "off":
        return record
    if not env.rollback.command:
        record["error"] = f"no [{env.name}.rollback] command is configured"
        return record
    target = report.get("target") or {}
    try:
        argv = build_command(
            env.rollback.command,
            decision.mode,
            {
                "env": env.name,
                "target_ref": target.get("git_ref"),
                "state_version": target.get("state_version_id"),
            },
        )
    except CommandError as error:
        record["error"] = str(error)
        return record
    record["command"] = argv
    run.write_line(f"ohpen: rollback ({decision.mode}): {' '.join(argv)}")
    result = run_rollback(
        argv,
        _handoff(run, decision.mode, str(report["generated_at"])),
        endpoint_url=run.clients.endpoint_url,
        cwd=run.repo,
        timeout=env.rollback.timeout,
        on_line=lambda line: run.write_line(f"  | {redact_text(line)}"),
    )
    record.update(
        exit_code=result.exit_code,
        duration_seconds=round(result.duration_seconds, 3),
        output=result.output,
        error=result.error,
        timed_out=result.timed_out,
    )
    return record


def _handoff(run: Finish, mode: str, detected_at: str) -> Handoff:
    """What the rollback command is told (the same hand-off the drill gives it)."""
    return rollback_handoff(
        run.env,
        run.clients.endpoint_url,
        mode,
        detected_at=detected_at,
        approved_by=run.approved_by,
    )


def _write_report(path: Path, report: dict[str, Any]) -> list[Path]:
    markdown = path.with_suffix(".md")
    write_atomic(path, to_json(report))
    write_atomic(markdown, to_markdown(report))
    return [path, markdown]


def _mark_known_good(run: Finish, report: dict[str, Any], checks_passed: int) -> None:
    """Every check passed on a complete run: this state version and commit are known good."""
    # The readiness facts already read the state's versions: the current one is in the report.
    version = (report.get("current") or {}).get("state_version_id")
    git = report.get("git") or {}
    if version is None:
        run.write_line("ohpen: no state version to mark known-good")
        return
    run.audit.write(
        "known_good",
        run.env.name,
        {
            "state_version_id": version,
            "git_commit": git.get("head"),
            "marked_at": report["generated_at"],
            "checks_passed": checks_passed,
            "operator": report["operator"],
        },
    )


def _notify(run: Finish, report: dict[str, Any]) -> None:
    """A short summary to the environment's failure topic."""
    env = run.env
    topic = env.resources.failure_topic
    if not topic:
        run.write_line(f"ohpen: --notify: no [{env.name}.resources] failure_topic configured")
        return
    arn = f"arn:aws:sns:{env.region}:{env.account_id}:{topic}"
    subject = f"pytest-ohpen {env.name}: checks failed, rollback {report['verdict']}"[:100]
    body = "\n".join(summary_lines(report, [run.report_path]))
    run.clients.client("sns").publish(TopicArn=arn, Subject=subject, Message=body)
    run.write_line(f"ohpen: summary published to {arn}")
