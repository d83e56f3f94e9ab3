"""How Terraform finds the stack's code and the embedded provider on this machine.

The provider is installed into a filesystem mirror under the cache folder, as
``registry.terraform.io/hashicorp/aws`` 5.0.0, so the stack's code needs no change to run on
the embedded account. The mirror's script names this Python by absolute path, so the mirror
is per machine (and per provider source: a changed provider gets a new mirror).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ohpen.emulator.stack import ALARMS, FAILURE_TOPIC
from pytest_ohpen.errors import ConfigError
from pytest_ohpen.util.cache import cache_dir
from pytest_ohpen.util.files import write_atomic

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment

PROVIDER_VERSION = "5.0.0"
"""What the mirror offers; the stack asks for ``~> 5.0``."""
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
"""The folder holding this ``pytest_ohpen``: the provider runs this very code."""
STACK = PACKAGE_ROOT / "infra" / "terraform"


def stack_dir() -> Path:
    """The stack's Terraform code (``infra/terraform`` in this checkout)."""
    if not (STACK / "versions.tf").is_file():
        raise ConfigError(
            f"{STACK}: the stack's Terraform code is missing; the embedded account needs "
            "pytest-ohpen installed from its repository (pip install -e '.[emulator]')"
        )
    return STACK


def provider_source_hash() -> str:
    """A digest of the provider's code and the Python that runs it."""
    folder = Path(__file__).resolve().parent / "provider"
    digest = hashlib.sha256(f"{sys.executable}\0{PACKAGE_ROOT}".encode())
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def provider_cli_config() -> Path:
    """The CLI configuration (``TF_CLI_CONFIG_FILE``) pointing Terraform at the mirror,
    built once per machine and provider; two processes building it at once both succeed."""
    # Resolved: the config names the mirror by path, and a cache reached through a symlink
    # (a folder shared by several) must not name the path of whoever built it first.
    home = (cache_dir() / "terraform-provider").resolve() / provider_source_hash()
    config = home / "terraformrc"
    if config.is_file():
        return config
    try:
        from tf.runner import install_provider
    except ImportError:
        raise ConfigError(
            "the embedded Terraform provider needs PyPI's tf: pip install 'pytest-ohpen[emulator]'"
        ) from None
    home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mirror-", dir=home))
    try:
        script = staging / "terraform-provider-aws"
        script.write_text(
            f'#!/bin/sh\nPYTHONPATH="{PACKAGE_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" '
            f'exec "{sys.executable}" -m pytest_ohpen.emulator.provider "$@"\n'
        )
        script.chmod(0o755)
        install_provider(
            "registry.terraform.io",
            "hashicorp",
            "aws",
            PROVIDER_VERSION,
            staging / "mirror",
            script,
        )
        mirror = home / "mirror"
        try:
            os.rename(staging / "mirror", mirror)
        except OSError:
            if not mirror.is_dir():  # another process won the race: use its mirror
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_atomic(
        config,
        "provider_installation {\n  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(home / 'mirror'))}\n"
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n',
    )
    return config


def stack_variables(env: Environment) -> dict[str, str]:
    """The stack's input variables from ``[<env>.resources]``, as ``TF_VAR_*`` (JSON lists
    are valid HCL). Pure: the recorded history's key is computed from it too."""
    r = env.resources
    variables = {
        "region": env.region,
        "buckets": list(r.buckets),
        "glue_jobs": list(r.glue_jobs),
        "state_machines": list(r.state_machines),
        "lambdas": list(r.lambdas),
        "tables": list(getattr(r, "tables", ())),
        "failure_topic": r.failure_topic or FAILURE_TOPIC,
        "alarms": list(r.alarms or ALARMS),
    }
    return {
        f"TF_VAR_{name}": value if isinstance(value, str) else json.dumps(value)
        for name, value in variables.items()
    }


def embedded_terraform_env(env: Environment) -> dict[str, str]:
    """What Terraform runs with on the embedded account, beyond the AWS variables: the CLI
    configuration naming the mirror, and the stack's variables."""
    return {"TF_CLI_CONFIG_FILE": str(provider_cli_config()), **stack_variables(env)}
