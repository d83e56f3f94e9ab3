"""The Terraform CLI as the rollback command drives it: find the binary, check the pinned
version, build the S3 backend settings, and run init, plan, show, apply and state pull.

Every step runs non-interactively (``TF_IN_AUTOMATION``, ``TF_INPUT=0``, ``-input=false``),
without colour and without Terraform's update check, in its own process group with a
timeout. State locking is never disabled: a rollback that races a deployment must fail
on the lock, not overwrite its state. A failed step is one :class:`TerraformError` line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.aws.clients import EMBEDDED_CREDENTIALS
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.util import process

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment, Terraform

AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
"""Set for every step; CHECKPOINT_DISABLE stops Terraform's call home for update checks."""
VERSION_TIMEOUT = 60.0
RENAMED_BACKEND_SETTINGS = (1, 6)
"""Terraform 1.6 moved the S3 backend's endpoint settings into ``endpoints`` and renamed
``force_path_style`` to ``use_path_style``."""
EMULATOR_SKIPS = (
    "skip_credentials_validation",
    "skip_region_validation",
    "skip_metadata_api_check",
)
_BOX_CHARACTERS = "│╷╵ \t"


class TerraformError(OhpenError):
    """Terraform is missing, the wrong version, or one of its steps failed."""


def find_terraform(
    environ: Mapping[str, str] | None = None,
    *,
    pinned: str | None = None,
    beside: Path | None = None,
) -> str:
    """``$TERRAFORM`` (a path, or a name on PATH), else ``terraform`` on PATH, else the one
    installed beside this Python.

    ``pinned`` only improves the message when nothing is found; ``beside`` is a folder
    searched last: for the embedded account, this Python's (where the ``emulator`` extra's
    PyPI Terraform is), never for a real account's.
    """
    environ = os.environ if environ is None else environ
    search_path = environ.get("PATH", os.defpath)
    wanted = f"Terraform {pinned}" if pinned else "terraform"
    chosen = environ.get("TERRAFORM", "")
    if chosen:
        found = _executable(chosen, search_path)
        if found is None:
            raise TerraformError(
                f"TERRAFORM={chosen}: not an executable file; point TERRAFORM at {wanted} "
                "or unset it to use terraform on PATH"
            )
        return found
    found = shutil.which("terraform", path=search_path) or _beside_python(beside)
    if found is None:
        pin = f"the environment pins {pinned}" if pinned else "the environment pins no version"
        raise TerraformError(
            f"Terraform not found: set TERRAFORM to its path or put terraform on PATH ({pin})"
        )
    return found


def _beside_python(folder: Path | None) -> str | None:
    """The ``terraform`` in ``folder`` (the one pip installed with this Python, for a venv
    used without activating it), if any."""
    if folder is None:
        return None
    candidate = folder / "terraform"
    return str(candidate) if os.access(candidate, os.X_OK) and candidate.is_file() else None


def _executable(name: str, search_path: str) -> str | None:
    if os.sep not in name:
        return shutil.which(name, path=search_path)
    path = Path(name).expanduser()
    if path.is_file() and os.access(path, os.X_OK):
        return os.path.abspath(path)  # the steps run in another directory
    return None


def terraform_version(binary: str, env: Mapping[str, str]) -> str:
    """The binary's version, e.g. "1.0.3", from ``terraform version -json``."""
    stdout = _capture([binary, "version", "-json"], None, env, VERSION_TIMEOUT, "version")
    text = stdout.decode(errors="replace")
    try:
        version = json.loads(text)["terraform_version"]
    except (ValueError, KeyError, TypeError):
        # Before 0.13 there is no -json: the first line is "Terraform v0.12.31".
        match = re.search(r"Terraform v(\S+)", text)
        if match is None:
            raise TerraformError(
                f"{binary} version -json: cannot read the version from {text.strip()[:80]!r}"
            ) from None
        version = match.group(1)
    if not isinstance(version, str):
        raise TerraformError(f"{binary} version -json: terraform_version is not a string")
    return version


def check_version(actual: str, pinned: str | None) -> None:
    """Raise when the environment pins a version and the binary is another one."""
    if pinned is None or actual.lstrip("v") == pinned.lstrip("v"):
        return
    raise TerraformError(
        f"Terraform {actual} found, environment pins {pinned}; install Terraform {pinned} "
        "and set TERRAFORM to it (a state written by one version may not be readable "
        "by another)"
    )


def _version_tuple(version: str) -> tuple[int, int]:
    match = re.match(r"v?(\d+)\.(\d+)", version)
    if match is None:
        raise TerraformError(f"cannot read Terraform version {version!r} (expected e.g. 1.5.0)")
    return int(match.group(1)), int(match.group(2))


def backend_config(tf: Terraform, region: str, endpoint_url: str | None, version: str) -> list[str]:
    """The ``-backend-config=key=value`` arguments of ``init`` for the S3 backend.

    With ``endpoint_url`` (an emulator) every AWS service the backend calls is sent there,
    path-style, without the checks only real AWS passes; the setting names depend on
    ``version`` (Terraform 1.6 renamed them).
    """
    settings: dict[str, str] = {
        "bucket": tf.state_bucket,
        "key": tf.state_key,
        "region": region,
    }
    if tf.lock_table:
        settings["dynamodb_table"] = tf.lock_table
    settings["encrypt"] = "true"
    if endpoint_url:
        if _version_tuple(version) >= RENAMED_BACKEND_SETTINGS:
            url = json.dumps(endpoint_url).replace("${", "$${").replace("%{", "%%{")
            services = ("s3", "dynamodb", "sts", "iam")
            settings["endpoints"] = "{" + ",".join(f"{s}={url}" for s in services) + "}"
            settings["use_path_style"] = "true"
            # 1.6+ asks STS/IAM for the account ID unless told not to; the state needs none.
            settings["skip_requesting_account_id"] = "true"
        else:
            for name in ("endpoint", "dynamodb_endpoint", "sts_endpoint", "iam_endpoint"):
                settings[name] = endpoint_url
            settings["force_path_style"] = "true"
        settings.update(dict.fromkeys(EMULATOR_SKIPS, "true"))
    return [f"-backend-config={key}={value}" for key, value in settings.items()]


def aws_subprocess_env(region: str, endpoint_url: str | None, embedded: bool) -> dict[str, str]:
    """The AWS variables Terraform runs with, on top of the inherited environment.

    The embedded account gets its fixed fake keys, and any inherited session token or
    profile is blanked so nothing real is used or sent. A real account gets only the
    region: its credentials come from the inherited environment and are never copied.
    ``endpoint_url`` is also exported as ``AWS_ENDPOINT_URL``, so anything in the
    configuration that honours it (providers, the aws CLI) stays on the emulator.
    """
    env = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    if embedded:
        env["AWS_ACCESS_KEY_ID"] = EMBEDDED_CREDENTIALS["aws_access_key_id"]
        env["AWS_SECRET_ACCESS_KEY"] = EMBEDDED_CREDENTIALS["aws_secret_access_key"]
        env.update({"AWS_SESSION_TOKEN": "", "AWS_SECURITY_TOKEN": "", "AWS_PROFILE": ""})
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def python_folder() -> Path:
    """Where pip put this Python's console scripts (the embedded account's Terraform)."""
    return Path(sys.executable).parent


def terraform_environment(
    env: Environment,
    endpoint_url: str | None,
    revision: str | None = None,
    *,
    embedded: bool | None = None,
) -> dict[str, str]:
    """Everything Terraform runs with for ``env`` (on top of the inherited environment): the
    AWS variables, and on the embedded account the embedded provider's mirror and the
    stack's variables (``revision``: the commit applied, the stack's ``revision`` output).
    Every Terraform step of this package gets it from here. ``embedded`` overrides
    ``env.emulated`` (the bootstrap deploys into an embedded account whatever the env says)."""
    embedded = env.emulated if embedded is None else embedded
    out = aws_subprocess_env(env.region, endpoint_url, embedded)
    if embedded:
        from pytest_ohpen.emulator.terraform_setup import embedded_terraform_env

        out.update(embedded_terraform_env(env))
        if revision:
            out["TF_VAR_revision"] = revision
    return out


@dataclass
class TerraformRunner:
    """Runs Terraform's steps in ``workdir``; ``env`` is added to the inherited environment
    (the caller's AWS region, credentials, endpoint), ``on_line`` gets each output line of
    the streamed steps, ``timeout`` bounds each step in seconds."""

    binary: str
    workdir: Path
    env: Mapping[str, str]
    on_line: Callable[[str], None]
    timeout: float

    def init(self, backend_args: list[str]) -> None:
        """``terraform init`` against the backend, forgetting any earlier backend settings."""
        self._stream("init", ["init", "-input=false", "-reconfigure", "-no-color", *backend_args])

    def plan(self, plan_file: Path) -> None:
        """``terraform plan`` saved to ``plan_file`` (it takes the state lock)."""
        self._stream("plan", ["plan", "-input=false", "-no-color", f"-out={plan_file}"])

    def show_json(self, plan_file: Path) -> dict[str, Any]:
        """The saved plan as ``terraform show -json`` prints it (not streamed)."""
        stdout = self._capture("show", ["show", "-json", "-no-color", str(plan_file)])
        try:
            document = json.loads(stdout)
        except ValueError as error:
            raise TerraformError(
                f"terraform show -json {plan_file}: output is not JSON ({error})"
            ) from None
        if not isinstance(document, dict):
            raise TerraformError(f"terraform show -json {plan_file}: output is not a JSON object")
        return document

    def apply(self, plan_file: Path) -> None:
        """``terraform apply`` of the saved plan, with normal state locking."""
        self._stream("apply", ["apply", "-input=false", "-no-color", str(plan_file)])

    def apply_now(self) -> None:
        """``terraform apply -auto-approve``: plan and apply in one step, unreviewed — only
        for the embedded account's bootstrap deployments (never a deploy or a rollback)."""
        self._stream("apply", ["apply", "-input=false", "-auto-approve", "-no-color"])

    def state_pull(self) -> bytes:
        """The backend's current state, as stored (``terraform state pull``)."""
        return self._capture("state pull", ["state", "pull"])

    def _environment(self) -> dict[str, str]:
        return {**self.env, **AUTOMATION_ENV}

    def _stream(self, step: str, args: list[str]) -> None:
        result = process.run(
            [self.binary, *args],
            timeout=self.timeout,
            cwd=self.workdir,
            env=self._environment(),
            on_line=self.on_line,
        )
        if result.error is not None:
            raise TerraformError(f"terraform {step}: {result.error}")
        if result.exit_code != 0:
            raise TerraformError(
                f"terraform {step} failed (exit code {result.exit_code}): "
                f"{last_error_line(result.output)}"
            )

    def _capture(self, step: str, args: list[str]) -> bytes:
        return _capture([self.binary, *args], self.workdir, self._environment(), self.timeout, step)


def _capture(
    argv: list[str], cwd: Path | None, env: Mapping[str, str], timeout: float, step: str
) -> bytes:
    """Run ``argv`` with stdout and stderr apart and return stdout; a failure is a
    TerraformError naming ``step`` (its message from stderr)."""
    result = process.run(
        argv, timeout=timeout, cwd=cwd, env={**env, **AUTOMATION_ENV}, capture=True
    )
    if result.error is not None:
        raise TerraformError(f"terraform {step}: {result.error}")
    if result.exit_code != 0:
        raise TerraformError(
            f"terraform {step} failed (exit code {result.exit_code}): "
            f"{last_error_line(result.stderr_lines())}"
        )
    return result.stdout


def last_error_line(lines: list[str]) -> str:
    """The last ``Error:`` line of Terraform's output (its diagnostic summary), else the
    last non-blank line, else "no output"."""
    cleaned = [line.strip(_BOX_CHARACTERS) for line in lines]
    errors = [line for line in cleaned if line.startswith("Error:")]
    if errors:
        return errors[-1]
    meaningful = [line for line in cleaned if line]
    return meaningful[-1] if meaningful else "no output"
