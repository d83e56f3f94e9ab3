"""The files an Allure results folder gets at the end of a checking run, on the process
that reports: ``environment.properties``, ``categories.json`` and a synthetic result,
"ohpen rollback readiness (<env>)", carrying the readiness report, the rollback command's
output and the approval record as attachments.

Everything is rendered from the typed readiness report and passes through
:mod:`pytest_ohpen.records.redact` before it is written. What allure-pytest itself writes
(each check's result, with its failure message taken straight from the exception) is
redacted in place at the end of the run by :func:`redact_results`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attr
from allure_commons import model2 as _model2

from pytest_ohpen import __version__
from pytest_ohpen.readiness.render import summary_lines, to_json, to_markdown
from pytest_ohpen.records.redact import redact, redact_text
from pytest_ohpen.util.files import write_atomic

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.readiness.report import Report, TriggerRecord

model: Any = _model2

READINESS_NAME = "ohpen rollback readiness ({env})"
JSON_ATTACHMENT = "readiness report (JSON)"
MARKDOWN_ATTACHMENT = "readiness report (Markdown)"
OUTPUT_ATTACHMENT = "rollback command output"
APPROVAL_ATTACHMENT = "rollback approval"
ENVIRONMENT_FILE = "environment.properties"
CATEGORIES_FILE = "categories.json"


def _containing(*alternatives: str) -> str:
    """A messageRegex for a message containing one of ``alternatives`` (regexes).

    Allure matches it against the whole message (Java's ``matches``), so it is wrapped in
    ``[\\s\\S]*``: any text, newlines included, in every Allure version's regex engine.
    """
    return r"[\s\S]*(" + "|".join(alternatives) + r")[\s\S]*"


CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "Resource missing",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": _containing(r": not found\b", r"\(NoSuch\w+\)", r"\(\w*NotFound\w*\)"),
    },
    {
        "name": "Access denied",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": _containing("access denied", r"\(AccessDenied\w*\)"),
    },
    {
        "name": "Throttled or timed out",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": _containing(
            "throttled", "Throttling", "Timeout", "timed out", "could not be checked"
        ),
    },
    {
        "name": "Configuration drift",
        "matchedStatuses": ["failed"],
        "messageRegex": _containing("differs from target", "not recorded in target"),
    },
    {
        "name": "Security posture",
        "matchedStatuses": ["failed"],
        "messageRegex": _containing(
            "public access",
            "non-TLS",
            "versioning",
            "encryption",
            "every action on every resource",
            "NotAction",
            "anyone invoke",
            "logging",
        ),
    },
]
"""Allure's defect categories, first match wins, over our one-line CheckFailed messages
(allure-pytest prefixes them with the exception type). "broken" is matched where the same
cause also shows up as an uncaught botocore error."""


def write_run_files(directory: Path, report: Report, env: Environment) -> list[Path]:
    """environment.properties, categories.json and the readiness result with its four
    attachments, every byte redacted; returns the paths written."""
    writer = _Writer(directory)
    writer.text(ENVIRONMENT_FILE, environment_properties(report, env))
    writer.text(CATEGORIES_FILE, json.dumps(CATEGORIES, indent=2) + "\n")
    write_readiness_result(writer, report, env)
    return writer.written


class _Writer:
    """The one way this module writes a file: redacted, atomically, into the results folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written: list[Path] = []

    def text(self, name: str, content: str) -> str:
        path = self.directory / name
        write_atomic(path, redact_text(content))
        self.written.append(path)
        return name


def redact_results(directory: Path, since: float) -> list[Path]:
    """Redact, in place, every text file of the results folder changed at or after ``since``
    (a time.time()); returns the files rewritten. Files of earlier runs are left alone, and
    so are files that are not UTF-8 text (screenshots) and files with nothing to redact."""
    rewritten: list[Path] = []
    for path in sorted(directory.glob("*")):
        try:
            if not path.is_file() or path.stat().st_mtime < since:
                continue
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        redacted = redact_text(text)
        if redacted != text:
            write_atomic(path, redacted)
            rewritten.append(path)
    return rewritten


def environment_properties(report: Report, env: Environment) -> str:
    """Allure's Environment widget: where, what code, which plugin and Terraform, and the
    rollback target and approver of this run. Unknown values are left out."""
    target = report.target
    values = {
        "environment": env.name,
        "account": env.account_id,
        "region": env.region,
        "git.commit": report.git_head,
        "pytest-ohpen.version": __version__,
        "terraform.version": env.terraform.version if env.terraform else None,
        "readiness.verdict": report.verdict.verdict,
        "rollback.target.state_version": target.state_version_id if target else None,
        "rollback.target.git_ref": target.git_ref if target else None,
        "rollback.target.git_commit": target.git_commit if target else None,
        "rollback.approved_by": report.rollback.approved_by if report.rollback else None,
    }
    return "".join(
        f"{_escape(key, key=True)}={_escape(str(value), key=False)}\n"
        for key, value in values.items()
        if value not in (None, "")
    )


def _escape(text: str, *, key: bool) -> str:
    """Java properties escaping (ISO 8859-1 file: everything else as \\uXXXX)."""
    out = []
    for index, char in enumerate(text):
        if char in "\\\n\r\t\f":
            out.append({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[char])
        elif (key and char in "=:#! ") or (char in "#! " and index == 0):
            out.append("\\" + char)
        elif not " " <= char <= "~":
            units = char.encode("utf-16-be")
            out += [f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)]
        else:
            out.append(char)
    return "".join(out)


def write_readiness_result(writer: _Writer, report: Report, env: Environment) -> str:
    """The synthetic result "ohpen rollback readiness (<env>)": status passed whatever the
    verdict (an audit record, not a check: the checks' own results carry the failures), the
    verdict as a parameter and a tag, the report and the trigger as attachments."""
    trigger = report.rollback
    verdict = report.verdict.verdict
    attachments = [
        (JSON_ATTACHMENT, "application/json", "json", to_json(report)),
        (MARKDOWN_ATTACHMENT, "text/markdown", "md", to_markdown(report)),
        (OUTPUT_ATTACHMENT, "text/plain", "txt", command_output(trigger)),
        (APPROVAL_ATTACHMENT, "application/json", "json", approval_record(report)),
    ]
    sources = [
        model.Attachment(
            name=name,
            type=mime,
            source=writer.text(f"{uuid.uuid4()}-attachment.{extension}", body),
        )
        for name, mime, extension, body in attachments
    ]
    labels = [
        ("epic", env.name),
        ("feature", "Rollback readiness"),
        ("story", "Readiness report"),
        ("suite", "ohpen rollback readiness"),
        ("tag", "audit record"),
        ("tag", f"verdict {verdict}"),
        ("framework", "pytest-ohpen"),
    ]
    parameters = [("verdict", verdict)]
    if trigger:
        parameters.append(("rollback mode", trigger.mode))
        if trigger.approved_by:
            parameters.append(("approved by", trigger.approved_by))
    stamp = int(time.time() * 1000)
    full_name = f"pytest_ohpen.readiness#{env.name}"
    result = model.TestResult(
        uuid=str(uuid.uuid4()),
        name=READINESS_NAME.format(env=env.name),
        fullName=full_name,
        historyId=hashlib.md5(full_name.encode()).hexdigest(),  # as allure-pytest's md5()
        testCaseId=hashlib.md5(full_name.encode()).hexdigest(),
        status=model.Status.PASSED,
        stage="finished",
        description="\n\n".join(summary_lines(report, [])),
        start=stamp,
        stop=stamp,
        labels=[model.Label(name=name, value=value) for name, value in labels],
        parameters=[model.Parameter(name=name, value=value) for name, value in parameters],
        attachments=sources,
    )
    data = attr.asdict(result, filter=lambda _, value: value or value is False)
    return writer.text(f"{result.uuid}-result.json", json.dumps(redact(data), indent=2))


def command_output(trigger: TriggerRecord | None) -> str:
    """The rollback command line, its output and how it ended, or why it did not run."""
    if not trigger:
        return "no rollback was triggered: no check failed\n"
    if not trigger.command:
        reason = trigger.error or f"rollback mode {trigger.mode}"
        return f"the rollback command did not run: {reason}\n"
    lines = ["$ " + " ".join(trigger.command), *trigger.output]
    ending = f"exit code {trigger.exit_code}"
    if trigger.duration_seconds is not None:
        ending += f" after {trigger.duration_seconds} s"
    if trigger.timed_out:
        ending += ", timed out"
    if trigger.error:
        ending += f" ({trigger.error})"
    return "\n".join([*lines, f"[{ending}]"]) + "\n"


def approval_record(report: Report) -> str:
    """Who approved, the mode asked for and the mode run, and every reason it fell back."""
    trigger = report.rollback
    record = {
        "environment": report.environment.name,
        "verdict": report.verdict.verdict,
        "triggered": trigger is not None,
        "requested": trigger.requested if trigger else None,
        "mode": trigger.mode if trigger else None,
        "approved_by": trigger.approved_by if trigger else None,
        "fallback_reasons": list(trigger.fallback_reasons) if trigger else [],
        "operator": dict(report.operator),
    }
    return json.dumps(redact(record), indent=2, sort_keys=True) + "\n"
