"""``ohpen deploy``: plan (dry-run) or apply the Terraform code at a git ref, recorded."""

from __future__ import annotations

import argparse
from typing import Any

from pytest_ohpen.cli.common import EXIT_NO, EXIT_OK, environment_options, open_run


def register(commands: Any) -> None:
    """Add ``deploy`` to the ``ohpen`` subcommands."""
    parser = commands.add_parser(
        "deploy",
        help="plan (dry-run unless --apply) and apply the Terraform code at a git ref",
        description="Check REF out into a temporary worktree, terraform init/plan/show there "
        "with the environment's pinned Terraform and state backend, review the plan (deletes "
        "or replaces of data-bearing resources block apply), and apply the reviewed plan only "
        "with --apply, after a 'deployment' record is written. Dry-run by default: it writes "
        "a 'deployment_plan' record. Exit 0: allowed (dry-run) or applied; 1: refused or "
        "failed; 2: a usage, configuration or preflight error.",
    )
    environment_options(parser)
    parser.add_argument(
        "--ref",
        metavar="REF",
        default="HEAD",
        help="git ref (SHA, tag or branch) whose Terraform code to deploy; default HEAD",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="plan and review only (default)")
    mode.add_argument("--apply", action="store_true", help="apply the reviewed plan")
    parser.add_argument(
        "--allow-destroy",
        action="store_true",
        help="accept deleting or replacing data-bearing resources",
    )
    parser.set_defaults(handler=run_deploy)


def run_deploy(args: argparse.Namespace) -> int:
    """Exit 0 when the dry-run review allows apply or the apply succeeded (and was recorded)."""
    from pytest_ohpen.deploy.deploy import DeployRequest, deploy
    from pytest_ohpen.records.identity import operator_identity

    with open_run(args) as run:
        outcome = deploy(
            DeployRequest(
                env=run.environment,
                clients=run.clients,
                audit=run.audit_store(),
                repo=run.repo,
                ref=args.ref,
                apply=args.apply,
                allow_destroy=args.allow_destroy,
                operator=operator_identity(run.caller_arn),
            )
        )
    return EXIT_OK if outcome.succeeded else EXIT_NO
