"""The state of one pytest run that checks an environment: which environment, the
embedded account if any, the shared AWS clients, and whether the account guard passed.

Everything is resolved on first need, so a run that uses none of the plugin's
fixtures never reads the environments file, imports botocore or needs ``--env``.
With xdist the controller does the preflight once and hands its result to the
workers (``handoff``/``adopt``), so all workers share one embedded account.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.config.settings import Settings, default_report
from pytest_ohpen.errors import ConfigError, OhpenError, PreflightError
from pytest_ohpen.rollback.handoff import from_env as told_by_parent

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.aws.timeouts import Profile
    from pytest_ohpen.checks import Where
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.emulator.registry import Record
    from pytest_ohpen.emulator.server import EmbeddedAccount
    from pytest_ohpen.records.store import AuditStore


class OhpenRun:
    """One run's environment, clients and embedded account, created lazily."""

    def __init__(
        self,
        resolve_settings: Callable[[], Settings],
        rootdir: Path,
        profile: Profile = "check",
    ) -> None:
        """``resolve_settings`` is called once, on first need; ``rootdir`` anchors defaults;
        ``profile`` is the clients' timeout profile (``check`` in a pytest run, ``admin`` for
        the CLI)."""
        self._resolve_settings = resolve_settings
        self.rootdir = rootdir
        self.profile: Profile = profile
        self._settings: Settings | None = None
        self._env: Environment | None = None
        self._clients: AwsClients | None = None
        self.account: EmbeddedAccount | None = None
        """The private embedded account this process started (stopped at close)."""
        self.attached: Record | None = None
        """The running ``ohpen emulator start`` account this run uses (never stopped here)."""
        self.endpoint_url: str | None = None
        self.preflight_done = False
        self.caller_arn: str | None = None
        self.runs_pipelines = True
        """Whether this run may start state-machine executions (an embedded account then
        runs them for real); a pytest run whose checks start none says False."""
        self.report_lines: list[str] = []
        self.summary_lines: list[str] = []
        """Lines for pytest's terminal summary (e.g. the drill's outcome)."""

    @property
    def settings(self) -> Settings:
        """The plugin's options, resolved on first use (may raise ConfigError)."""
        if self._settings is None:
            self._settings = self._resolve_settings()
        return self._settings

    @property
    def environment(self) -> Environment:
        """The chosen environment, loaded and validated on first use (may raise ConfigError)."""
        if self._env is None:
            chosen = self.settings.env_name
            path = self.settings.targets
            if chosen is None:
                raise ConfigError(self._no_environment_message())
            from pytest_ohpen.config import (
                environments,  # not at import: `pytest --help` stays cheap
            )

            self._env = environments.load_environment(
                path, chosen.value, chosen.written, self.settings.targets_source
            )
        return self._env

    def _no_environment_message(self) -> str:
        path = self.settings.targets
        try:
            from pytest_ohpen.config import environments

            document = environments.read_file(path, self.settings.targets_source)
            known = environments.environment_names(document)
        except ConfigError as error:
            return f"no environment named: pass --env NAME or set OHPEN_ENV ({error})"
        hint = " (try --env local)" if "local" in known else ""
        return (
            "no environment named: pass --env NAME or set OHPEN_ENV; "
            f"environments in {path}: {', '.join(known) or 'none'}{hint}"
        )

    @property
    def clients(self) -> AwsClients:
        """The run's shared AWS clients, pointed at the embedded account when there is one."""
        if self._clients is None:
            from pytest_ohpen.aws.clients import AwsClients

            self._clients = AwsClients(
                self.environment, endpoint_url=self.endpoint_url, profile=self.profile
            )
        return self._clients

    @property
    def where(self) -> Where:
        """The environment's account and region, for check messages."""
        from pytest_ohpen.checks import Where

        return Where(self.environment.account_id, self.environment.region)

    def preflight(self) -> None:
        """Before any check: find or start the embedded account, then the account guard.

        An emulated environment uses, in this order: the embedded account a parent process
        handed down (``OHPEN_EMBEDDED_ENDPOINT``), the one ``ohpen emulator start`` runs for
        this environment name and account id, else a private one started here.

        Raises ConfigError or PreflightError, each one line, whatever went wrong (a moto
        that does not start, a provisioning call timing out); runs at most once.
        """
        if self.preflight_done:
            return
        env = self.environment
        omitted = self.settings.emulator_omit
        for option, given in (
            ("--emulator-omit", omitted),
            ("--emulator-fault", self.settings.emulator_faults),
        ):
            if given and not env.emulated:
                raise ConfigError(
                    f"{option}: environment {env.name!r} is not emulated; "
                    "it only applies to an environment with emulated = true (try --env local)"
                )
        attach = told_by_parent().embedded_endpoint if env.emulated else None
        if attach:
            # A rollback command started by a run (rollback.handoff): use its embedded account.
            self.endpoint_url = attach
            self._clients = None
        elif env.emulated and not self._attach_to_running():
            self._start_embedded_account(omitted)
        from pytest_ohpen.aws.guard import verify_account

        caller = verify_account(self.clients)
        self.caller_arn = caller
        self.preflight_done = True
        where = (
            f"embedded account at {self.endpoint_url}"
            if env.emulated
            else (f"endpoint {env.endpoint_url}" if env.endpoint_url else "AWS")
        )
        self.report_lines.insert(
            0,
            f"ohpen: environment {env.name}: account {env.account_id} verified "
            f"({caller}), {env.region}, {where}",
        )

    def _attach_to_running(self) -> bool:
        """Use the account ``ohpen emulator start`` runs for this environment, if any (one
        line either way when a record is found); False: start a private one."""
        from pytest_ohpen.emulator import registry

        try:
            record = registry.read(self.environment.name)
        except registry.RecordError as error:
            self.report_lines.append(f"ohpen: ignoring an unreadable emulator record: {error}")
            return False
        if record is None:
            return False
        decision = registry.attach_decision(
            record, registry.probe(record), self.environment.account_id
        )
        if decision.record is None:
            self.report_lines.append(str(decision.why_not))
            return False
        for option, given in (
            ("--emulator-omit", self.settings.emulator_omit),
            ("--emulator-fault", self.settings.emulator_faults),
        ):
            if given:
                raise ConfigError(
                    f"{option}: the embedded account at {record.where()} is shared (ohpen "
                    f"emulator start) and {option} would change it; stop it (ohpen emulator "
                    f"stop --env {record.environment}) or run without {option}"
                )
        self.attached = record
        self.endpoint_url = record.endpoint
        self._clients = None
        self.report_lines.append(
            f"ohpen: attached to the running embedded account at {record.endpoint} "
            f"(ohpen emulator start, pid {record.pid})"
        )
        return True

    def _start_embedded_account(self, omitted: tuple[str, ...]) -> None:
        from pytest_ohpen.emulator.faults import parse_faults
        from pytest_ohpen.emulator.server import EmbeddedAccount
        from pytest_ohpen.emulator.stack import Stack

        stack = Stack.for_environment(self.environment).without(omitted)
        faults = parse_faults(self.settings.emulator_faults, stack)
        self.account = EmbeddedAccount(
            self.environment, stack, faults, execute_pipelines=self.runs_pipelines
        )
        try:
            started = self.account.start()
        except OhpenError:
            raise
        except Exception as error:  # moto not starting, a provisioning call failing
            from pytest_ohpen.aws.guard import describe_provisioning_failure
            from pytest_ohpen.aws.timeouts import PROVISIONING

            raise PreflightError(
                describe_provisioning_failure(
                    error, self.environment, self.account.url, PROVISIONING.read
                )
            ) from None
        self.endpoint_url = started.url
        self._clients = None
        skipped = f", without {', '.join(omitted)}" if omitted else ""
        if faults:
            skipped += ", faults: " + ", ".join(f"{f.description} ({r})" for f, r in faults)
        how = (
            "deployed by real Terraform applies (now recorded for the next runs)"
            if self.account.recorded_now
            else "built from its recorded Terraform applies"
        )
        self.report_lines.append(
            f"ohpen: embedded account provisioned in {started.seconds:.1f} s, {how}{skipped}"
        )

    @property
    def repo(self) -> Path:
        """The git checkout holding the Terraform code: the environment's, else the rootdir."""
        terraform = self.environment.terraform
        return terraform.repo if terraform and terraform.repo else self.rootdir

    def report_path(self) -> Path:
        """Where the readiness report goes (``--readiness-report`` or reports/ in the rootdir)."""
        chosen = self.settings.readiness_report
        return chosen or default_report(self.rootdir, self.environment.name)

    def audit_store(self) -> AuditStore:
        """The environment's append-only audit store (local directory, S3 when configured)."""
        from pytest_ohpen.records.store import open_store

        return open_store(self.environment, lambda: self.clients.client("s3"))

    def handoff(self) -> dict[str, Any]:
        """What an xdist worker needs from the controller's preflight (plain data)."""
        return {"endpoint_url": self.endpoint_url, "preflight_done": self.preflight_done}

    def adopt(self, handoff: dict[str, Any]) -> None:
        """Take the controller's preflight result (on an xdist worker)."""
        self.endpoint_url = handoff.get("endpoint_url")
        self.preflight_done = bool(handoff.get("preflight_done"))

    def close(self) -> None:
        """Stop the embedded account, if this process started one."""
        if self.account is not None:
            self.account.stop()
            self.account = None
