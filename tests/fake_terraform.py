"""A stand-in for the terraform executable, answering in Terraform's documented formats.

Tests install it with :func:`install_fake_terraform`, which writes a ``terraform`` wrapper
that runs this file with the test's Python. Each invocation appends one JSON line (argv,
cwd, selected environment variables) to ``$FAKE_TERRAFORM_LOG``. Behaviour:

- ``version [-json]``: ``$FAKE_TERRAFORM_VERSION`` (default 1.5.0);
- ``init``: succeeds; ``plan -out=FILE``: writes FILE; ``show -json FILE``: prints the
  document in ``$FAKE_TERRAFORM_PLAN`` (FILE must exist); ``apply FILE``: succeeds when FILE
  exists; ``state pull``: prints a small state;
- ``$FAKE_TERRAFORM_FAIL=<subcommand>``: that subcommand prints a Terraform-style error to
  stderr and exits 1; ``$FAKE_TERRAFORM_HANG=<subcommand>``: it sleeps for a minute.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_VERSION = "1.5.0"
LOGGED_ENV = (
    "TF_IN_AUTOMATION",
    "TF_INPUT",
    "CHECKPOINT_DISABLE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
)
"""Recorded by value; the secret key is recorded only as set or not."""
FAKE_STATE = {
    "version": 4,
    "terraform_version": DEFAULT_VERSION,
    "serial": 3,
    "lineage": "00000000-fake-4000-8000-000000000000",
    "outputs": {},
    "resources": [],
}


def _log(argv: list[str]) -> None:
    path = os.environ.get("FAKE_TERRAFORM_LOG")
    if not path:
        return
    record = {
        "argv": argv,
        "cwd": os.getcwd(),
        "env": {name: os.environ[name] for name in LOGGED_ENV if name in os.environ},
        "secret_key_set": bool(os.environ.get("AWS_SECRET_ACCESS_KEY")),
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _error(summary: str, detail: str = "") -> int:
    print(f"\nError: {summary}\n", file=sys.stderr)
    if detail:
        print(detail, file=sys.stderr)
    return 1


def _positional(args: list[str]) -> list[str]:
    return [arg for arg in args if not arg.startswith("-")]


def main(argv: list[str]) -> int:
    """Answer one terraform command line (without the program name); the exit code."""
    _log(argv)
    if not argv:
        return _error("no subcommand")
    subcommand, args = argv[0], argv[1:]
    if os.environ.get("FAKE_TERRAFORM_HANG") == subcommand:
        time.sleep(60)
    if os.environ.get("FAKE_TERRAFORM_FAIL") == subcommand:
        return _error(f"simulated {subcommand} failure", "The fake was told to fail this step.")
    version = os.environ.get("FAKE_TERRAFORM_VERSION", DEFAULT_VERSION)
    if subcommand == "version":
        if "-json" in args:
            document = {
                "terraform_version": version,
                "platform": "linux_amd64",
                "provider_selections": {},
                "terraform_outdated": False,
            }
            print(json.dumps(document, indent=2))
        else:
            print(f"Terraform v{version}\non linux_amd64")
        return 0
    if subcommand == "init":
        print("\nInitializing the backend...\n")
        print('Successfully configured the backend "s3"! Terraform will automatically')
        print("use this backend unless the backend configuration changes.\n")
        print("Terraform has been successfully initialized!")
        return 0
    if subcommand == "plan":
        outs = [arg.split("=", 1)[1] for arg in args if arg.startswith("-out=")]
        if outs:
            Path(outs[-1]).write_bytes(b"fake plan\n")
        print("\nNo changes. Your infrastructure matches the configuration.")
        return 0
    if subcommand == "show":
        files = _positional(args)
        if "-json" not in args or not files or not Path(files[-1]).is_file():
            return _error("Failed to read the given file as a state or plan file")
        plan_path = os.environ.get("FAKE_TERRAFORM_PLAN")
        if plan_path:
            print(Path(plan_path).read_text(encoding="utf-8"))
        else:
            print(json.dumps({"format_version": "1.0", "terraform_version": version}))
        return 0
    if subcommand == "apply":
        files = _positional(args)
        if not files or not Path(files[-1]).is_file():
            return _error("Failed to load plan file", "The plan file does not exist.")
        print("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.")
        return 0
    if subcommand == "state" and args[:1] == ["pull"]:
        print(json.dumps({**FAKE_STATE, "terraform_version": version}, indent=2))
        return 0
    return _error(f"unknown command {subcommand!r}")


def install_fake_terraform(
    tmp_path: Path,
    plan: dict[str, Any] | None,
    version: str = DEFAULT_VERSION,
    fail: str | None = None,
) -> tuple[Path, Path, dict[str, str]]:
    """Write a ``terraform`` wrapper running this module with the test's Python.

    Returns the executable, the log file, and the environment variables to set for it
    (``TERRAFORM`` among them, so :func:`find_terraform` picks it).
    """
    bin_dir = tmp_path / "fake-terraform-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    executable = bin_dir / "terraform"
    here = str(Path(__file__).resolve().parent)
    executable.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {here!r})\n"
        "import fake_terraform\n"
        "raise SystemExit(fake_terraform.main(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    log = bin_dir / "invocations.jsonl"
    env = {
        "TERRAFORM": str(executable),
        "FAKE_TERRAFORM_LOG": str(log),
        "FAKE_TERRAFORM_VERSION": version,
    }
    if plan is not None:
        plan_file = bin_dir / "show.json"
        plan_file.write_text(json.dumps(plan), encoding="utf-8")
        env["FAKE_TERRAFORM_PLAN"] = str(plan_file)
    if fail is not None:
        env["FAKE_TERRAFORM_FAIL"] = fail
    return executable, log, env


def read_log(log: Path) -> list[dict[str, Any]]:
    """The recorded invocations, oldest first (none when the fake never ran)."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
