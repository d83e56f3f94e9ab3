"""``ohpen incident list|show|annotate``: the rollback incident log, and completing an
entry (root cause, prevention) with an append-only annotation record."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ohpen.cli.common import (
    EXIT_NO,
    EXIT_OK,
    EXIT_USAGE,
    environment_options,
    run_on_demand,
    settings_from,
)

if TYPE_CHECKING:
    from pytest_ohpen.config.environments import Environment
    from pytest_ohpen.records.store import AuditRecord, AuditStore


def register(commands: Any) -> None:
    """Add ``incident list``, ``show`` and ``annotate`` to the ``ohpen`` subcommands."""
    incident = commands.add_parser("incident", help="the rollback incident log")
    actions = incident.add_subparsers(title="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every incident of the environment, newest first")
    environment_options(listing)
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one incident, as the playbook's Markdown entry")
    environment_options(show)
    show.add_argument("id", metavar="ID", help="incident id (from incident list)")
    show.set_defaults(handler=run_show)
    annotate = actions.add_parser(
        "annotate", help="add root cause and/or prevention to an incident (append-only)"
    )
    environment_options(annotate)
    annotate.add_argument("id", metavar="ID", help="incident id (from incident list)")
    annotate.add_argument("--root-cause", metavar="TEXT", help="what caused the incident")
    annotate.add_argument("--prevention", metavar="TEXT", help="what stops it happening again")
    annotate.set_defaults(handler=run_annotate)


@dataclass
class IncidentLog:
    """The environment's audit store and its incident and annotation records."""

    env: Environment
    store: AuditStore
    incidents: list[AuditRecord]
    annotations: list[AuditRecord]
    caller: Callable[[], str | None]
    """The AWS caller's ARN when the run was opened (audit bucket), else None: no AWS call."""

    def find(self, record_id: str) -> AuditRecord | None:
        return next((record for record in self.incidents if record.id == record_id), None)


@contextmanager
def _log(args: argparse.Namespace) -> Iterator[IncidentLog]:
    """The environment's local audit directory (no AWS call) and, when ``[<env>.audit]``
    names a bucket, the records kept there (after the account guard)."""
    from pytest_ohpen.context import OhpenRun
    from pytest_ohpen.records.store import open_store
    from pytest_ohpen.rollback.incident import ANNOTATION_KIND, KIND

    settings = settings_from(args)
    env = OhpenRun(lambda: settings, Path.cwd()).environment
    with ExitStack() as stack:
        run = run_on_demand(args, stack)
        store = open_store(env, lambda: run().clients.client("s3"))
        yield IncidentLog(
            env=env,
            store=store,
            incidents=store.records(kind=KIND, environment=env.name),
            annotations=store.records(kind=ANNOTATION_KIND, environment=env.name),
            caller=lambda: run().caller_arn if env.audit.bucket else None,
        )


def run_list(args: argparse.Namespace) -> int:
    """One line per incident: id, when, mode and outcome, verification, complete or not."""
    from pytest_ohpen.rollback.incident import annotations_of, missing_fields

    with _log(args) as log:
        if not log.incidents:
            print("no incidents recorded")
        for record in log.incidents:
            data = record.data
            missing = missing_fields(data, annotations_of(record.id, log.annotations))
            state = f"incomplete: {', '.join(missing)} missing" if missing else "complete"
            print(
                f"{record.id}  {data.get('started_at')}  {data.get('mode')}: {data.get('outcome')}"
                f"  verification: {data.get('verification')}  {state}"
            )
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    """The incident as the playbook's Markdown entry, its annotations merged in."""
    from pytest_ohpen.rollback.incident import annotations_of, incident_markdown

    with _log(args) as log:
        record = log.find(args.id)
        if record is None:
            return _unknown(args.id, log.env.name)
        notes = annotations_of(record.id, log.annotations)
        print(incident_markdown(record.id, log.env.name, record.data, notes), end="")
    return EXIT_OK


def run_annotate(args: argparse.Namespace) -> int:
    """Write an ``incident_annotation`` record naming the incident (never rewriting it),
    then refresh the incident's Markdown file beside the records."""
    from pytest_ohpen.records.identity import operator_identity
    from pytest_ohpen.rollback.incident import (
        ANNOTATION_KIND,
        annotation_data,
        annotations_of,
        incident_markdown,
    )
    from pytest_ohpen.util.files import write_atomic

    fields, problem = _fields(args)
    if problem:
        print(f"ohpen incident annotate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    with _log(args) as log:
        record = log.find(args.id)
        if record is None:
            return _unknown(args.id, log.env.name)
        data = annotation_data(record.id, operator_identity(log.caller()), fields)
        note = log.store.write(ANNOTATION_KIND, log.env.name, data)
        notes = annotations_of(record.id, [*log.annotations, note])
        markdown = log.env.audit.directory.parent / "incidents" / f"{record.id}.md"
        write_atomic(markdown, incident_markdown(record.id, log.env.name, record.data, notes))
        print(f"annotation {note.id} recorded for incident {record.id} ({markdown})")
    return EXIT_OK


def _fields(args: argparse.Namespace) -> tuple[dict[str, str], str | None]:
    """The given fields, or the one line that says what is wrong with them."""
    given = {"root_cause": args.root_cause, "prevention": args.prevention}
    if all(value is None for value in given.values()):
        return {}, "give --root-cause TEXT, --prevention TEXT or both"
    fields: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            continue
        option = "--" + name.replace("_", "-")
        if not value.strip():
            return {}, f"{option} is blank: give the text to record"
        if "\n" in value or "\r" in value:
            return {}, f"{option} must be one line: put the details in a linked document"
        fields[name] = value.strip()
    return fields, None


def _unknown(record_id: str, env_name: str) -> int:
    print(
        f"ohpen: no incident {record_id!r} for environment {env_name!r} (see ohpen incident list)",
        file=sys.stderr,
    )
    return EXIT_NO
