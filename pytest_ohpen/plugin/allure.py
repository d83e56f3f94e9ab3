"""Allure results for a checking run (``--alluredir``, allure-pytest): what a reader of the
Allure report needs beyond pass and fail.

- Every check is labelled where it runs (a worker under xdist): epic = environment,
  feature = AWS service, story = the check in words, tag = the suite, severity (blocker for
  smoke), the resource as a parameter and a link to it in the AWS console. Labels go in
  through ``allure.dynamic`` at setup, not as collection markers: allure-pytest's
  ``--allure-features``-style selection would then deselect checks behind the back of the
  known-good logic, which trusts a run only when nothing was deselected.
- A check that failed and then passed on its retry gets ``statusDetails.flaky`` and the tag
  "passed on retry" (allure-pytest writes one result per attempt, same historyId).
- At the end, on the process that reports (single process or xdist controller):
  ``environment.properties``, ``categories.json`` and a synthetic result,
  "ohpen rollback readiness (<env>)", carrying the readiness report, the rollback command's
  output and the approval record as attachments.

Everything this module writes passes through :mod:`pytest_ohpen.records.redact` first. The module is
imported only when ``--alluredir`` is given; allure has no type hints, so it is used as Any.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import allure as _allure
import attr
import pytest
from allure_commons import model2 as _model2

from pytest_ohpen import __version__
from pytest_ohpen.plugin.outcomes import CHECK_PROPERTY, KIND_PROPERTY, RESOURCE_PROPERTY
from pytest_ohpen.readiness.report import summary_lines, to_json, to_markdown
from pytest_ohpen.records.redact import redact, redact_text
from pytest_ohpen.util.files import write_atomic

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment

allure: Any = _allure
model: Any = _model2

PLUGIN_NAME = "ohpen-allure-results"
ALLURE_LISTENER = "allure_listener"
"""The name allure-pytest registers its listener under (its test results live there)."""

SUITES = ("smoke", "post_rollback", "drill")
"""Suites a check can belong to, found in its path (``suites/<suite>/...``)."""
PASSED_ON_RETRY = "passed on retry"
"""The tag of a check's attempt that passed after a failed one."""
READINESS_NAME = "ohpen rollback readiness ({env})"
JSON_ATTACHMENT = "readiness report (JSON)"
MARKDOWN_ATTACHMENT = "readiness report (Markdown)"
OUTPUT_ATTACHMENT = "rollback command output"
APPROVAL_ATTACHMENT = "rollback approval"
ENVIRONMENT_FILE = "environment.properties"
CATEGORIES_FILE = "categories.json"

SERVICES = {
    "buckets": "S3",
    "glue_jobs": "Glue",
    "state_machines": "Step Functions",
    "lambdas": "Lambda",
    "alarms": "CloudWatch",
    "roles": "IAM",
}
"""The feature label of a check of each resource kind (``[<env>.resources]`` key)."""
SERVICE_WORDS = (
    ("bucket", "S3"),
    ("s3", "S3"),
    ("glue", "Glue"),
    ("state_machine", "Step Functions"),
    ("pipeline", "Step Functions"),
    ("lambda", "Lambda"),
    ("alarm", "CloudWatch"),
    ("monitoring", "CloudWatch"),
    ("role", "IAM"),
    ("iam", "IAM"),
    ("topic", "SNS"),
    ("sns", "SNS"),
)
"""Words in a test's function name, then its module's, naming the service of a check that
has no resource fixture (e.g. ``test_failure_topic_subscribed``: SNS)."""
CONSOLE_NOUNS = {
    "buckets": "S3 bucket",
    "glue_jobs": "Glue job",
    "state_machines": "state machine",
    "lambdas": "Lambda function",
    "alarms": "CloudWatch alarm",
    "roles": "IAM role",
}


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


def register(config: pytest.Config) -> None:
    """Register the plugin object on this process (controller and workers alike) and
    unregister it when pytest unconfigures, as allure-pytest does with its listener."""
    results = AllureResults(config, Path(os.path.abspath(config.option.allure_report_dir)))
    config.pluginmanager.register(results, PLUGIN_NAME)
    config.add_cleanup(lambda: config.pluginmanager.unregister(name=PLUGIN_NAME))


# ------------------------------------------------------------------ per check


@dataclass(frozen=True)
class CheckLabels:
    """What Allure shows about one check, worked out from its item."""

    epic: str
    story: str
    feature: str | None = None
    suite: str | None = None
    resource: str | None = None
    link: tuple[str, str] | None = None
    """(url, name) of the resource in the AWS console."""

    @property
    def severity(self) -> str:
        """A red smoke check means the deployment is broken: it blocks; the rest is critical."""
        return "blocker" if self.suite == "smoke" else "critical"


def check_labels(
    item: pytest.Item, region: str, account_id: str, rootpath: Path
) -> CheckLabels | None:
    """The labels of a check (an item carrying the ``ohpen_check`` property), else None."""
    props = {str(k): str(v) for k, v in item.user_properties}
    if CHECK_PROPERTY not in props:
        return None
    function = item.originalname if isinstance(item, pytest.Function) else item.name
    function = function.split("[", 1)[0]
    kind, resource = props.get(KIND_PROPERTY), props.get(RESOURCE_PROPERTY)
    url = console_url(kind, resource, region, account_id) if kind and resource else None
    noun = CONSOLE_NOUNS.get(kind or "", "resource")
    return CheckLabels(
        epic=props[CHECK_PROPERTY],
        story=story_of(function),
        feature=service_of(kind, function, item.path.stem),
        suite=suite_of(item.path, rootpath),
        resource=resource,
        link=(url, f"{noun} {resource} in the AWS console") if url else None,
    )


def story_of(function: str) -> str:
    """``test_bucket_accessible`` → "Bucket accessible": the check, in words."""
    words = function.removeprefix("test_").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def service_of(kind: str | None, function: str, module: str) -> str | None:
    """The AWS service a check is about: from its resource kind, else from the words of its
    function's name, then its module's; None when nothing names one (the drill's steps)."""
    if kind in SERVICES:
        return SERVICES[kind]
    for name in (function, module):
        padded = f"_{name.lower()}_"
        for word, service in SERVICE_WORDS:
            if f"_{word}_" in padded:
                return service
    return None


def suite_of(path: Path, rootpath: Path) -> str | None:
    """smoke / post_rollback / drill: the nearest folder of that name below the rootdir,
    else a module named ``test_<suite>.py``; None for a check of no known suite."""
    relative: PurePath = path.relative_to(rootpath) if path.is_relative_to(rootpath) else path
    for folder in reversed(relative.parent.parts):
        if folder in SUITES:
            return folder
    module = relative.stem.removeprefix("test_")
    return module if module in SUITES else None


def console_url(kind: str, name: str, region: str, account_id: str) -> str | None:
    """The resource's page in the AWS console for the environment's region (and partition)."""
    partition = (
        "aws-cn"
        if region.startswith("cn-")
        else "aws-us-gov"
        if region.startswith("us-gov-")
        else "aws"
    )
    domain = {
        "aws": "console.aws.amazon.com",
        "aws-cn": "console.amazonaws.cn",
        "aws-us-gov": "console.amazonaws-us-gov.com",
    }[partition]
    regional = f"https://{region}.{domain}"
    safe = quote(name, safe="")
    if kind == "buckets":
        return f"https://s3.{domain}/s3/buckets/{safe}?region={region}"
    if kind == "glue_jobs":
        return f"{regional}/gluestudio/home?region={region}#/editor/job/{safe}/details"
    if kind == "state_machines":
        arn = f"arn:{partition}:states:{region}:{account_id}:stateMachine:{name}"
        return f"{regional}/states/home?region={region}#/statemachines/view/{quote(arn, safe='')}"
    if kind == "lambdas":
        return f"{regional}/lambda/home?region={region}#/functions/{safe}"
    if kind == "alarms":
        return f"{regional}/cloudwatch/home?region={region}#alarmsV2:alarm/{safe}"
    if kind == "roles":
        return f"https://{domain}/iam/home?region={region}#/roles/details/{safe}"
    return None


def apply_labels(labels: CheckLabels) -> None:
    """Put the labels on the test result allure-pytest has scheduled for this attempt."""
    dynamic = allure.dynamic
    dynamic.epic(labels.epic)
    if labels.feature:
        dynamic.feature(labels.feature)
    dynamic.story(labels.story)
    if labels.suite:
        dynamic.tag(labels.suite)
    dynamic.label("severity", labels.severity)
    if labels.resource is not None:
        dynamic.parameter("resource", labels.resource)
    if labels.link:
        url, name = labels.link
        dynamic.link(url, name=name)


class AllureResults:
    """Labels each check's attempts; writes the run-level files where the run is reported."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.running: str | None = None
        """The node id of the check whose attempt runs on this process now."""
        self.retry = 0
        """Which retry the running attempt is (0: the first attempt)."""
        self.written: list[Path] = []
        self.failure: str | None = None

    @pytest.hookimpl(tryfirst=True)  # before a skip marker ends the setup
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        from pytest_ohpen.plugin.stash import run_of

        if not any(name == CHECK_PROPERTY for name, _ in item.user_properties):
            return  # not a check: nothing to say, and no environment to load
        env = run_of(item.config).environment
        labels = check_labels(item, env.region, env.account_id, item.config.rootpath)
        if labels is None:
            return
        self.running, self.retry = item.nodeid, 0
        apply_labels(labels)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid == self.running:
            self.retry = max(self.retry, int(getattr(report, "rerun", 0) or 0))

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        """Runs inside allure-pytest's own logfinish wrapper, before it writes the result."""
        if nodeid != self.running:
            return
        retry, self.running, self.retry = self.retry, None, 0
        if retry:
            mark_passed_on_retry(self.config, retry)

    def pytest_ohpen_readiness_report(self, report: dict[str, Any], env: Environment) -> None:
        """The run is over and reported (this is the reporting process): write its files."""
        try:
            self.written = write_run_files(self.directory, report, env)
        except OSError as error:  # the readiness report stands; say what is missing
            self.failure = f"{type(error).__name__}: {error}"

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.failure:
            terminalreporter.write_line(
                f"ohpen: Allure run files not written to {self.directory}: {self.failure}",
                red=True,
            )


def mark_passed_on_retry(config: pytest.Config, retry: int) -> None:
    """Mark the attempt's result flaky, if it passed (allure-pytest set its status)."""
    listener: Any = config.pluginmanager.get_plugin(ALLURE_LISTENER)
    result: Any = listener.allure_logger.get_test(None) if listener is not None else None
    if result is None or result.status != "passed":
        return
    details = result.statusDetails or model.StatusDetails()
    details.flaky = True
    details.message = details.message or (
        f"passed on attempt {retry + 1}, after {retry} failed attempt{'s' if retry > 1 else ''}"
    )
    result.statusDetails = details
    allure.dynamic.tag(PASSED_ON_RETRY)


# ------------------------------------------------------------ per run (reporting process)


def write_run_files(directory: Path, report: dict[str, Any], env: Environment) -> list[Path]:
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


def environment_properties(report: dict[str, Any], env: Environment) -> str:
    """Allure's Environment widget: where, what code, which plugin and Terraform, and the
    rollback target and approver of this run. Unknown values are left out."""
    git = report.get("git") or {}
    target = report.get("target") or {}
    trigger = report.get("rollback") or {}
    values = {
        "environment": env.name,
        "account": env.account_id,
        "region": env.region,
        "git.commit": git.get("head"),
        "pytest-ohpen.version": __version__,
        "terraform.version": env.terraform.version if env.terraform else None,
        "readiness.verdict": report.get("verdict"),
        "rollback.target.state_version": target.get("state_version_id"),
        "rollback.target.git_ref": target.get("git_ref"),
        "rollback.target.git_commit": target.get("git_commit"),
        "rollback.approved_by": trigger.get("approved_by"),
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


def write_readiness_result(writer: _Writer, report: dict[str, Any], env: Environment) -> str:
    """The synthetic result "ohpen rollback readiness (<env>)": status passed whatever the
    verdict (an audit record, not a check: the checks' own results carry the failures), the
    verdict as a parameter and a tag, the report and the trigger as attachments."""
    report = redact(report)
    trigger = report.get("rollback")
    verdict = str(report.get("verdict"))
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
        parameters.append(("rollback mode", str(trigger.get("mode"))))
        if trigger.get("approved_by"):
            parameters.append(("approved by", str(trigger["approved_by"])))
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


def command_output(trigger: dict[str, Any] | None) -> str:
    """The rollback command line, its output and how it ended, or why it did not run."""
    if not trigger:
        return "no rollback was triggered: no check failed\n"
    if not trigger.get("command"):
        reason = trigger.get("error") or f"rollback mode {trigger.get('mode')}"
        return f"the rollback command did not run: {reason}\n"
    lines = ["$ " + " ".join(str(part) for part in trigger["command"])]
    lines += [str(line) for line in trigger.get("output") or []]
    ending = f"exit code {trigger.get('exit_code')}"
    if trigger.get("duration_seconds") is not None:
        ending += f" after {trigger['duration_seconds']} s"
    if trigger.get("timed_out"):
        ending += ", timed out"
    if trigger.get("error"):
        ending += f" ({trigger['error']})"
    return "\n".join([*lines, f"[{ending}]"]) + "\n"


def approval_record(report: dict[str, Any]) -> str:
    """Who approved, the mode asked for and the mode run, and every reason it fell back."""
    trigger = report.get("rollback") or {}
    record = {
        "environment": (report.get("environment") or {}).get("name"),
        "verdict": report.get("verdict"),
        "triggered": bool(trigger),
        "requested": trigger.get("requested"),
        "mode": trigger.get("mode"),
        "approved_by": trigger.get("approved_by"),
        "fallback_reasons": list(trigger.get("fallback_reasons") or []),
        "operator": report.get("operator"),
    }
    return json.dumps(record, indent=2, sort_keys=True) + "\n"
