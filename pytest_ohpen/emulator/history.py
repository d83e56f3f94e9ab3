"""The embedded account's deployment history: real Terraform applies of the stack's code
(``infra/terraform``), recorded once per machine and stack, replayed into new accounts.

Why recorded: every ``--env local`` command starts an account, and a real apply takes
seconds (Terraform, the provider's process, moto). So the first account for a given stack
is deployed for real — one apply per revision, one state version each — and the state
documents those applies wrote are kept in the cache; later accounts are built from the
newest of them by the provider's own create code (``provider.replay``), which a test proves
gives the same account as the apply (a plan after the replay plans nothing). The cache key
covers everything that could change the result: the Terraform code, the provider's code,
the stack's variables, the account and region, the Terraform binary, moto's version.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.emulator.stack import Stack
from pytest_ohpen.errors import OhpenError
from pytest_ohpen.util.cache import cache_dir
from pytest_ohpen.util.files import write_atomic

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.config.environments import Environment

REVISIONS = ("bootstrap-1", "bootstrap-2", "bootstrap-3")
"""What the recorded applies deploy (the stack's ``revision`` variable): three applies, so the
state has a previous version for readiness to target."""
FORMAT = 2
"""Bump when what is cached changes meaning (this module's own code is in the key too)."""
APPLY_TIMEOUT = 300.0


class HistoryError(OhpenError):
    """Recording the deployment history failed; one line saying which step and why."""


@dataclass(frozen=True)
class History:
    """The state documents the recorded applies wrote, oldest first, as the backend stored
    them (bytes: the state bucket gets them back unchanged)."""

    states: tuple[bytes, ...]

    def newest(self) -> dict[str, Any]:
        """The current state document (what the account's resources are built from)."""
        document = json.loads(self.states[-1])
        if not isinstance(document, dict):
            raise HistoryError("the recorded state is not a JSON object")
        return document


def history_key(env: Environment, terraform_binary: str) -> str:
    """What the recorded history depends on, hashed: the same key, the same applies."""
    import moto

    from pytest_ohpen.emulator import provider
    from pytest_ohpen.emulator.terraform_setup import stack_dir, stack_variables

    digest = hashlib.sha256(f"format {FORMAT}\n".encode() + Path(__file__).read_bytes())
    for root in (stack_dir(), Path(provider.__file__).parent):
        for path in sorted(root.rglob("*")):
            if path.is_file() and not _ignored(path.relative_to(root)):
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    binary = Path(terraform_binary).resolve()
    facts = {
        "variables": stack_variables(env),
        "account": env.account_id,
        "region": env.region,
        "terraform": [str(binary), binary.stat().st_size],
        "moto": moto.__version__,
        "revisions": REVISIONS,
    }
    digest.update(json.dumps(facts, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def _ignored(relative: Path) -> bool:
    parts = relative.parts
    return ".terraform" in parts or "__pycache__" in parts or relative.name.endswith(".pyc")


def _folder(key: str) -> Path:
    return cache_dir() / "deployment-history" / key


def load(key: str) -> History | None:
    """The recorded history for ``key``, or None (never recorded, or unreadable)."""
    folder = _folder(key)
    try:
        count = int(json.loads((folder / "history.json").read_text())["states"])
        states = tuple((folder / f"state-{n}.json").read_bytes() for n in range(1, count + 1))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return History(states) if states else None


def save(key: str, history: History) -> None:
    """Keep ``history`` for ``key``: the states first, the index last (a reader sees all or
    nothing); two processes recording at once write the same bytes."""
    folder = _folder(key)
    for n, body in enumerate(history.states, start=1):
        write_atomic(folder / f"state-{n}.json", body)
    write_atomic(folder / "history.json", json.dumps({"states": len(history.states)}) + "\n")


def record(
    clients: AwsClients,
    stack: Stack,
    terraform_binary: str,
    on_line: Callable[[str], None] | None = None,
) -> History:
    """Deploy the stack's code for real into the account ``clients`` talk to, once per
    revision, and return the state versions those applies wrote (oldest first).

    Creates the backend's state bucket and lock table first (they are outside the code);
    the caller resets the account afterwards and builds it again from the history.
    """
    from pytest_ohpen.config.environments import Terraform
    from pytest_ohpen.emulator.backend import create_backend
    from pytest_ohpen.emulator.terraform_setup import stack_dir
    from pytest_ohpen.terraform.binary import (
        TerraformError,
        TerraformRunner,
        backend_config,
        terraform_environment,
        terraform_version,
    )

    env, url = clients.env, clients.endpoint_url
    state_bucket = stack.state_bucket or "ohpen-embedded-history"
    lock_table = stack.lock_table or "ohpen-embedded-history-locks"
    create_backend(clients, state_bucket, lock_table)
    settings = Terraform(
        state_bucket=state_bucket, state_key=stack.state_key, lock_table=lock_table
    )
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        if on_line is not None:
            on_line(line)

    # Always the embedded account's settings: a test may build an account for an environment
    # that is not marked emulated (an endpoint_url pointing at moto).
    base_env: Mapping[str, str] = terraform_environment(env, url, embedded=True)
    with tempfile.TemporaryDirectory(prefix="ohpen-history-") as scratch:
        workdir = Path(scratch) / "terraform"
        shutil.copytree(stack_dir(), workdir, ignore=shutil.ignore_patterns(".terraform*"))
        try:
            version = terraform_version(terraform_binary, base_env)
            for revision in REVISIONS:
                runner = TerraformRunner(
                    terraform_binary,
                    workdir,
                    {**base_env, "TF_VAR_revision": revision},
                    keep,
                    APPLY_TIMEOUT,
                )
                if revision == REVISIONS[0]:
                    runner.init(backend_config(settings, env.region, url, version))
                runner.apply_now()
        except TerraformError as error:
            raise HistoryError(f"recording the embedded account's deployments: {error}") from None
    s3 = clients.client("s3")
    listed = s3.list_object_versions(Bucket=state_bucket, Prefix=stack.state_key)
    versions = [v for v in listed.get("Versions", []) if v["Key"] == stack.state_key]
    versions.sort(key=lambda v: v["LastModified"])
    states = tuple(
        s3.get_object(Bucket=state_bucket, Key=stack.state_key, VersionId=v["VersionId"])[
            "Body"
        ].read()
        for v in versions
    )
    if len(states) < len(REVISIONS):
        raise HistoryError(
            f"recording the embedded account's deployments: {len(REVISIONS)} applies wrote "
            f"{len(states)} state version(s)"
        )
    return History(states)


def reset_account(endpoint_url: str) -> None:
    """Empty the embedded account (moto keeps its configuration): the recorded applies'
    resources go, so the account is built once, from the history, whatever was omitted."""
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
