"""Conclude a readiness assessment: run the rollback trigger, write the report files and the
audit records, mark a green run known-good, notify, and hand the hooks their copy.

The second half of what the plugin does when checks end, after
:func:`pytest_ohpen.readiness.assess.assess`; ``ohpen readiness`` concludes the same way
(no checks ran, so nothing is triggered or marked). Each step reads the typed report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.errors import OhpenError
from pytest_ohpen.readiness.apply_command import command_values
from pytest_ohpen.readiness.decide import NOT_NEEDED
from pytest_ohpen.readiness.render import (
    as_data,
    summary_lines,
    to_json,
    to_markdown,
    trigger_data,
)
from pytest_ohpen.readiness.report import Report, TriggerRecord
from pytest_ohpen.records.identity import operator_identity
from pytest_ohpen.records.known_good import (
    COMMIT_RECORD_KINDS,
    Evidence,
    deployed_commit,
    mark_data,
)
from pytest_ohpen.records.redact import redact_text
from pytest_ohpen.records.store import KNOWN_GOOD
from pytest_ohpen.rollback.handoff import Handoff
from pytest_ohpen.rollback.incident import incident_key
from pytest_ohpen.rollback.trigger import (
    CommandError,
    build_command,
    decide_trigger,
    rollback_handoff,
    run_rollback,
)
from pytest_ohpen.util.files import write_atomic
from pytest_ohpen.util.jsonable import iso_utc

TRIGGER_KIND = "rollback_trigger"
"""Written twice for an apply: ``status: started`` before the command, then the outcome
(``status: finished``, naming the started record); once (the outcome) otherwise."""

REPORT_KIND = "readiness_report"
"""The report's ``kind`` (and its audit records')."""
MARKDOWN_TITLE = "# Rollback readiness: "

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.config.settings import Sourced
    from pytest_ohpen.records.store import AuditRecord, AuditStore
    from pytest_ohpen.util.deadline import Deadline


@dataclass
class Hooks:
    """The conftest hooks, or none (the CLI has no conftest). ``report`` and ``veto`` get a
    fresh JSON-ready copy each; ``concluded`` gets the frozen report (for the Allure plugin)."""

    facts: Callable[..., Any] = lambda **_: None
    report: Callable[..., Any] = lambda **_: None
    veto: Callable[..., list[str | None]] = lambda **_: []
    concluded: Callable[..., Any] = lambda **_: None


@dataclass
class ReadinessRun:
    """What assessing and concluding need: the environment, its clients and audit store, and
    what the operator asked for (options of the run or of ``ohpen readiness``)."""

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
    evidence: Evidence | None = None
    """What the run's checks proved (None: no checks ran); a pass marks known-good only when
    it has no gaps (nothing deselected or skipped for a missing setting, something checked)."""
    deployed_commit: Sourced | None = None
    """``--deployed-commit``/OHPEN_DEPLOYED_COMMIT; None: CI's variable, else the rollback or
    deployment record that produced the marked state version."""
    hooks: Hooks = field(default_factory=Hooks)
    deadline: Deadline | None = None
    """The run's deadline: the facts are gathered within what is left of it."""
    write_line: Callable[[str], None] = print
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def operator(self) -> dict[str, str]:
        """Who ran this: the AWS identity and the CI's variables (never credentials)."""
        return operator_identity(self.caller_arn)


@dataclass(frozen=True)
class Concluded:
    """The report as written (with the trigger's record), where, and its summary lines."""

    report: Report
    written: tuple[Path, ...]
    lines: list[str]

    @property
    def rollback_possible(self) -> bool:
        return self.report.verdict.rollback_possible


def conclude(run: ReadinessRun, report: Report) -> Concluded:
    """Trigger (checks failed), write, record, mark known-good (a complete green run),
    notify, and call the report hooks; each step reads the typed ``report``."""
    env = run.env
    started: str | None = None
    if report.checks.ran and report.failed_checks:
        trigger, started = _trigger(run, report)
        report = replace(report, rollback=trigger)
    written: list[Path] = []
    unwritten: OSError | None = None  # the audit records are still written, then it is raised
    try:
        written = _write_report(run.report_path, report)
    except OSError as error:
        unwritten = error
    run.audit.write(REPORT_KIND, env.name, as_data(report))
    if report.rollback and report.rollback.mode != "off":
        run.audit.write(
            TRIGGER_KIND,
            env.name,
            {
                **_trigger_record(report),
                "status": "finished",
                **({"started_record": started} if started else {}),
            },
        )
    if unwritten is not None:
        raise OhpenError(f"the readiness report {run.report_path} cannot be written: {unwritten}")
    if report.checks.ran and report.verdict.verdict == NOT_NEEDED:
        _mark_known_good(run, report)
    if run.notify and report.failed_checks:
        _notify(run, report)
    run.hooks.report(report=as_data(report), env=env)
    run.hooks.concluded(report=report, env=env)
    return Concluded(report, tuple(written), summary_lines(report, written))


def _trigger_record(report: Report) -> dict[str, Any]:
    """The ``rollback_trigger`` record's data (before the status fields), with the detection
    time the command is told (``OHPEN_DETECTED_AT``) and its incident key, so the metrics
    tie the trigger and the command's own records to one incident."""
    assert report.rollback is not None
    detected = iso_utc(report.generated_at)
    return {
        **trigger_data(report.rollback),
        "operator": dict(report.operator),
        "verdict": report.verdict.verdict,
        "detected_at": detected,
        "incident_key": incident_key(detected),
    }


def _trigger(run: ReadinessRun, report: Report) -> tuple[TriggerRecord, str | None]:
    """Run the rollback command in the mode the gates allow: what happened, typed, and the
    id of the "started" record written before an apply (None when nothing was applied)."""
    env = run.env
    requested = run.rollback_mode or env.rollback.mode
    vetoes = (
        [v for v in run.hooks.veto(report=as_data(report), env=env) if v]
        if requested == "apply"
        else []
    )
    decision = decide_trigger(
        requested,
        environment=env.name,
        auto_apply=env.rollback.auto_apply,
        approver=run.approved_by,
        verdict=report.verdict.verdict,
        vetoes=vetoes,
    )
    record = TriggerRecord(
        requested=decision.requested,
        mode=decision.mode,
        fallback_reasons=tuple(decision.fallback_reasons),
        approved_by=run.approved_by,
    )
    for reason in decision.fallback_reasons:
        run.write_line(f"ohpen: rollback not applied: {reason}")
    if decision.mode == "off":
        return record, None
    if not env.rollback.command:
        return replace(record, error=f"no [{env.name}.rollback] command is configured"), None
    target = report.target
    values = command_values(
        env.name,
        target.git_ref if target else None,
        target.state_version_id if target else None,
    )
    try:
        argv = build_command(env.rollback.command, decision.mode, values)
    except CommandError as error:
        return replace(record, error=str(error)), None
    record = replace(record, command=tuple(argv))
    started = None
    if record.mode == "apply":
        recorded = _record_start(run, replace(report, rollback=record))
        if isinstance(recorded, str):  # never applied unrecorded
            reason = f"{recorded}, so nothing is applied (dry-run only)"
            run.write_line(f"ohpen: rollback not applied: {reason}")
            argv = build_command(env.rollback.command, "dry-run", values)
            record = replace(
                record,
                mode="dry-run",
                fallback_reasons=(*record.fallback_reasons, reason),
                command=tuple(argv),
            )
        else:
            started = recorded.id
    run.write_line(f"ohpen: rollback ({record.mode}): {' '.join(argv)}")
    result = run_rollback(
        argv,
        _handoff(run, record.mode, iso_utc(report.generated_at)),
        endpoint_url=run.clients.endpoint_url,
        cwd=run.repo,
        timeout=env.rollback.timeout,
        on_line=lambda line: run.write_line(f"  | {redact_text(line)}"),
    )
    finished = replace(
        record,
        exit_code=result.exit_code,
        duration_seconds=round(result.duration_seconds, 3),
        output=tuple(result.output),
        error=result.error,
        timed_out=result.timed_out,
    )
    return finished, started


def _record_start(run: ReadinessRun, report: Report) -> AuditRecord | str:
    """Before an apply: the report (its trigger says apply, not yet run) and a
    ``rollback_trigger`` record with ``status: started``. The record, or, when either
    cannot be written, a sentence saying which (then nothing may be applied)."""
    try:
        _write_report(run.report_path, report)
    except OSError as error:
        return f"the readiness report {run.report_path} cannot be written ({error})"
    try:
        stored = run.audit.write(
            TRIGGER_KIND, run.env.name, {**_trigger_record(report), "status": "started"}
        )
    except (OhpenError, OSError) as error:
        return f"the rollback started record cannot be written ({error})"
    return stored


def _handoff(run: ReadinessRun, mode: str, detected_at: str) -> Handoff:
    """What the rollback command is told (the same hand-off the drill gives it)."""
    return rollback_handoff(
        run.env,
        run.clients.endpoint_url,
        mode,
        detected_at=detected_at,
        approved_by=run.approved_by,
    )


def report_files(path: Path) -> tuple[Path, Path]:
    """The report's JSON file and the Markdown beside it."""
    return path, path.with_suffix(".md")


def _write_report(path: Path, report: Report) -> list[Path]:
    json_path, markdown = report_files(path)
    write_atomic(json_path, to_json(report))
    write_atomic(markdown, to_markdown(report))
    return [json_path, markdown]


def retire_report(path: Path) -> None:
    """Remove an earlier run's report files before this run checks anything, so a run that
    stops early (a usage or preflight error, exit 4) leaves no report to be read as its own.
    Every report is also an audit record, so nothing is lost; a file that is not a readiness
    report (a mistyped ``--readiness-report``) is left alone. OhpenError (one line) when
    a report cannot be removed: the run must not go on with it in place."""
    json_path, markdown = report_files(path)
    if not _is_report(json_path):
        return
    stale = [json_path, *([markdown] if _head(markdown).startswith(MARKDOWN_TITLE) else [])]
    for file in stale:
        try:
            file.unlink(missing_ok=True)
        except OSError as error:
            raise OhpenError(
                f"cannot remove the previous readiness report {file}: "
                f"{error.strerror or error}; it would be read as this run's: remove it, or "
                "pass --readiness-report PATH"
            ) from None


def _is_report(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):  # absent, a folder, unreadable, not JSON: not ours
        return False
    return isinstance(data, dict) and data.get("kind") == REPORT_KIND


def _head(path: Path) -> str:
    try:
        with path.open("rb") as file:
            return file.read(len(MARKDOWN_TITLE)).decode(errors="replace")
    except OSError:
        return ""


def _mark_known_good(run: ReadinessRun, report: Report) -> None:
    """A green run that proved it (see :class:`Evidence`): this state version, applied from
    the deployed commit, is known good; the mark says what passed."""
    evidence = run.evidence
    if evidence is None or not evidence.proves:
        gaps = evidence.gaps if evidence else ("no checks ran",)
        run.write_line(f"ohpen: not marked known-good: {'; '.join(gaps)}")
        return
    current = report.current
    if current is None:
        run.write_line("ohpen: no state version to mark known-good")
        return
    version_id = current.version.version_id
    given = run.deployed_commit
    commit = deployed_commit(
        given.value if given else None,
        given.written if given else None,
        os.environ,
        _applied_records(run),
        version_id,
    )
    run.audit.write(
        KNOWN_GOOD,
        run.env.name,
        mark_data(
            version_id,
            evidence,
            commit,
            checkout_head=report.git_head,
            marked_at=iso_utc(report.generated_at),
            operator=report.operator,
        ),
    )
    if commit.sha is None:
        run.write_line(
            f"ohpen: known-good mark of state version {version_id} records no deployed commit: "
            "pass --deployed-commit SHA (or OHPEN_DEPLOYED_COMMIT) where the deployment runs"
        )


def _applied_records(run: ReadinessRun) -> list[AuditRecord]:
    """The rollbacks and deployments the audit store holds, newest first across both kinds;
    unreadable: none (the commit is then unknown)."""
    found: list[AuditRecord] = []
    try:
        for kind in COMMIT_RECORD_KINDS:
            found += run.audit.records(kind=kind, environment=run.env.name)
    except (OhpenError, OSError):
        return []
    return sorted(found, key=lambda r: (r.recorded_at, r.id), reverse=True)


def _notify(run: ReadinessRun, report: Report) -> None:
    """A short summary to the environment's failure topic."""
    env = run.env
    topic = env.resources.failure_topic
    if not topic:
        run.write_line(f"ohpen: --notify: no [{env.name}.resources] failure_topic configured")
        return
    arn = f"arn:aws:sns:{env.region}:{env.account_id}:{topic}"
    subject = f"pytest-ohpen {env.name}: checks failed, rollback {report.verdict.verdict}"[:100]
    body = "\n".join(summary_lines(report, [run.report_path]))
    run.clients.client("sns").publish(TopicArn=arn, Subject=subject, Message=body)
    run.write_line(f"ohpen: summary published to {arn}")
