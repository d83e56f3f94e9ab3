"""``ohpen rollback terraform``: re-apply a previous git revision with a reviewed plan."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_ohpen.cli.common import EXIT_NO, EXIT_OK, environment_options, open_run
from pytest_ohpen.rollback.guard import TERRAFORM_ROLLBACK, override_of
from pytest_ohpen.rollback.incident import DETECTED_AT_HELP, detected_at_of, detected_at_option

DEFAULT_REASON = "smoke tests failed after deployment"


def register(commands: Any) -> None:
    """Add ``rollback terraform`` to the ``ohpen`` subcommands."""
    rollback = commands.add_parser("rollback", help="roll an environment back")
    kinds = rollback.add_subparsers(title="what", required=True, metavar="WHAT")
    parser = kinds.add_parser(
        "terraform",
        help="re-apply a previous git revision (dry-run unless --apply)",
        description="Check REF out into a temporary worktree, terraform init/plan/show there, "
        "review the plan (deletes or replaces of data-bearing resources block apply), and "
        "apply the reviewed plan only with --apply. Dry-run by default.",
    )
    environment_options(parser)
    parser.add_argument(
        "--target-version",
        metavar="REF",
        default="HEAD~1",
        help="git ref (SHA, tag or branch) to roll back to; default HEAD~1",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="plan and review only (default)")
    mode.add_argument("--apply", action="store_true", help="apply the reviewed plan")
    parser.add_argument(
        "--allow-destroy",
        action="store_true",
        help="accept deleting or replacing data-bearing resources",
    )
    parser.add_argument(
        "--verify", action="store_true", help="after applying, run pytest suites/smoke --env NAME"
    )
    parser.add_argument(
        "--reason",
        metavar="TEXT",
        help=f"why, for the incident record (default: {DEFAULT_REASON!r}; required with --force)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="apply despite readiness blockers (a running pipeline, a held lock); needs --reason",
    )
    parser.add_argument(
        "--detected-at", metavar="WHEN", type=detected_at_option, help=DETECTED_AT_HELP
    )
    parser.set_defaults(handler=run_rollback)


def run_rollback(args: argparse.Namespace) -> int:
    """Exit 0 when the dry-run review allows apply or the apply (and verify) succeeded."""
    from pytest_ohpen.records.identity import operator_identity
    from pytest_ohpen.rollback.handoff import from_env
    from pytest_ohpen.rollback.reapply import RollbackRequest, rollback_terraform

    override = override_of(TERRAFORM_ROLLBACK, args.force, args.reason)
    told = from_env()  # what the trigger, the drill or a CD workflow says (OHPEN_*)
    detected_at = detected_at_of(args.detected_at, told.detected_at)
    reason = override.reason or DEFAULT_REASON
    with open_run(args) as run:
        outcome = rollback_terraform(
            RollbackRequest(
                env=run.environment,
                clients=run.clients,
                audit=run.audit_store(),
                repo=run.repo,
                suites=Path.cwd() / "suites",
                target_ref=args.target_version,
                apply=args.apply,
                allow_destroy=args.allow_destroy,
                verify=args.verify,
                reason="quarterly rollback drill" if told.drill else reason,
                operator={
                    **operator_identity(run.caller_arn),
                    **({"approved_by": told.approved_by} if told.approved_by else {}),
                },
                targets_file=run.settings.targets,
                initiated_by=told.initiator,
                detected_at=detected_at,
                override=override,
            )
        )
    return EXIT_OK if outcome.succeeded else EXIT_NO
