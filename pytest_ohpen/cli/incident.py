"""``ohpen incident list`` and ``ohpen incident show ID``: the rollback incident log."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.cli.common import (
    EXIT_NO,
    EXIT_OK,
    environment_options,
    run_on_demand,
    settings_from,
)

if TYPE_CHECKING:
    from pytest_ohpen.records.store import AuditRecord


def register(commands: Any) -> None:
    """Add ``incident list`` and ``incident show`` to the ``ohpen`` subcommands."""
    incident = commands.add_parser("incident", help="the rollback incident log")
    actions = incident.add_subparsers(title="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every incident of the environment, newest first")
    environment_options(listing)
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one incident, as the playbook's Markdown entry")
    environment_options(show)
    show.add_argument("id", metavar="ID", help="incident id (from incident list)")
    show.set_defaults(handler=run_show)


def _incidents(args: argparse.Namespace) -> tuple[str, list[AuditRecord]]:
    """The environment's incident records: its local audit directory (no AWS call) and,
    when ``[<env>.audit]`` names a bucket, the records kept there (after the account guard)."""
    from pytest_ohpen.context import OhpenRun
    from pytest_ohpen.records.store import open_store
    from pytest_ohpen.rollback.incident import KIND

    settings = settings_from(args)
    env = OhpenRun(lambda: settings, Path.cwd()).environment
    with ExitStack() as stack:
        run = run_on_demand(args, stack)
        store = open_store(env, lambda: run().clients.client("s3"))
        return env.name, store.records(kind=KIND, environment=env.name)


def run_list(args: argparse.Namespace) -> int:
    """One line per incident: id, when, mode and outcome, who."""
    _, records = _incidents(args)
    if not records:
        print("no incidents recorded")
    for record in records:
        data = record.data
        print(
            f"{record.id}  {data.get('started_at')}  {data.get('mode')}: {data.get('outcome')}"
            f"  verification: {data.get('verification')}"
        )
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    """The incident as the playbook's Markdown entry."""
    from pytest_ohpen.rollback.incident import incident_markdown

    env_name, records = _incidents(args)
    for record in records:
        if record.id == args.id:
            print(incident_markdown(record.id, env_name, record.data), end="")
            return EXIT_OK
    print(
        f"ohpen: no incident {args.id!r} for environment {env_name!r} (see ohpen incident list)",
        file=sys.stderr,
    )
    return EXIT_NO
