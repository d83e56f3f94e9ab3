"""``ohpen data``: a data layer's completed runs, and rolling its promotion pointer back.

The playbook's "Data Rollback (Reverting _LATEST.json)": ``runs`` is step 1 (the run
history from ``_SUCCESS`` metadata, the promoted run marked), ``rollback`` steps 2-4
(pointer and ``current/`` switched to an earlier run, then an audit record of who, when,
why and the previous run). A rollback is a dry run unless ``--apply``; every command runs
after the account guard. See :mod:`pytest_ohpen.rollback.data_runs` for the layout and
:mod:`pytest_ohpen.rollback.data_apply` for the guarantee.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.cli.common import EXIT_NO, EXIT_OK, answer_no_on, environment_options, open_run
from pytest_ohpen.config.environments import DataLayer, Environment
from pytest_ohpen.errors import ConfigError, OhpenError
from pytest_ohpen.records.store import AuditRecord, AuditStore
from pytest_ohpen.rollback.data_apply import DataRollbackConflict, apply_data_rollback
from pytest_ohpen.rollback.data_plan import DataRollbackPlan, plan_data_rollback
from pytest_ohpen.rollback.data_runs import DataRollbackRefused, list_runs
from pytest_ohpen.rollback.guard import DATA_ROLLBACK, Blocked, forced_line, guard, override_of
from pytest_ohpen.rollback.incident import DETECTED_AT_HELP, attempt_context, detected_at_option
from pytest_ohpen.util.tables import text_table

AUDIT_KIND = "data_rollback"
STARTED = "started"
"""The status of the record written before anything changes; the outcome record follows."""
PROMOTED = "\u2190 promoted"
HUMAN_VARIABLES = ("GITHUB_ACTOR", "USER")
"""Who is at the keyboard (or which CI user), beside the AWS identity."""


def register(commands: Any) -> None:
    """Add ``data`` (runs, rollback) to the ``ohpen`` subcommands."""
    parser = commands.add_parser(
        "data",
        help="a data layer's runs and its _LATEST.json pointer: list, roll back",
        description="The playbook's data rollback against a layer configured in "
        "[<env>.data.<layer>]. Exit 0 done, 1 refused or failed, 2 usage or configuration error.",
    )
    data = parser.add_subparsers(title="data commands", required=True, metavar="COMMAND")

    runs = data.add_parser(
        "runs",
        help="list the layer's completed runs, newest first, the promoted one marked",
        description="Every run with a _SUCCESS (incomplete runs are left out), newest first.",
    )
    environment_options(runs)
    _layer_option(runs)
    runs.set_defaults(handler=_aws_errors(run_runs))

    rollback = data.add_parser(
        "rollback",
        help="point _LATEST.json and current/ at an earlier run; dry run by default",
        description="Copy RUN_ID's objects to current/, remove the others there, then write "
        "_LATEST.json only if no one changed it since it was read. Without --apply nothing "
        "is written.",
    )
    environment_options(rollback)
    _layer_option(rollback)
    rollback.add_argument("--to", metavar="RUN_ID", required=True, help="the run to promote")
    rollback.add_argument(
        "--reason", metavar="TEXT", required=True, help="why, for the pointer and audit record"
    )
    mode = rollback.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="show what would be done (default)")
    mode.add_argument(
        "--apply", action="store_true", help="do it (default: dry run, nothing written)"
    )
    rollback.add_argument(
        "--force",
        action="store_true",
        help="apply despite readiness blockers (a running pipeline, a held lock); "
        "recorded with --reason",
    )
    rollback.add_argument(
        "--detected-at", metavar="WHEN", type=detected_at_option, help=DETECTED_AT_HELP
    )
    rollback.set_defaults(handler=_aws_errors(run_rollback))


def run_runs(args: argparse.Namespace) -> int:
    """The runs table, newest first; exit 0."""
    with open_run(args) as run:
        layer = _layer(run.environment, args.layer)
        runs = list_runs(run.clients.client("s3"), layer)
    where = f"s3://{layer.bucket}/{layer.prefix}"
    if not runs:
        print(f"{where}: no completed runs")
        return EXIT_OK
    header = ("RunId", "CompletedAt", "Rows", "QuarantineRate", "")
    rows: list[tuple[str, ...]] = [
        (
            r.run_id,
            r.completed_at,
            "?" if r.rows is None else str(r.rows),
            "?" if r.quarantine_rate is None else f"{r.quarantine_rate:.2%}",
            PROMOTED if r.promoted else "",
        )
        for r in runs
    ]
    for line in text_table(header, rows, right_aligned={2, 3}):
        print(line)
    return EXIT_OK


def run_rollback(args: argparse.Namespace) -> int:
    """Dry run (exit 0, nothing written) or, with --apply: the guard, a "started" audit
    record, the rollback, and its outcome record (nothing changes if the first cannot be
    written)."""
    args.reason = required_reason(args.reason)
    override = override_of(DATA_ROLLBACK, args.force, args.reason)
    attempt = attempt_context(args.detected_at)  # a bad OHPEN_DETECTED_AT: exit 2, no change
    with open_run(args) as run:
        env = run.environment
        layer = _layer(env, args.layer)
        s3 = run.clients.client("s3")
        who = _who(run.caller_arn)
        try:
            plan = plan_data_rollback(
                s3,
                args.layer,
                layer,
                args.to,
                args.reason,
                operator=_operator(who),
                now=datetime.now(UTC),
            )
            for line in plan.describe():
                print(line)
            if not args.apply:
                print("dry-run: nothing written; add --apply")
                return EXIT_OK
            cleared = guard(DATA_ROLLBACK, env, run.clients, run.repo, override)
        except (DataRollbackRefused, DataRollbackConflict, Blocked) as error:
            return _no(str(error))
        warning = forced_line(DATA_ROLLBACK, cleared)
        if warning:
            print(warning)
        store = run.audit_store()
        common = {
            "who": who,
            "when": plan.new_pointer["promoted_at"],
            "reason": args.reason,
            **cleared.record(),
            **attempt,
        }
        try:
            started = store.write(
                AUDIT_KIND, env.name, {"status": STARTED, **common, "plan": _plan_data(plan)}
            )
        except OhpenError as error:
            return _no(f"cannot record the rollback before applying it: {error}; nothing changed")
        try:
            record = apply_data_rollback(s3, layer, plan)
        except Exception as error:  # refused, a conflict, an AWS error: recorded, then told
            failed = {"status": "failed", "error": str(error) or type(error).__name__}
            _outcome(store, env.name, started.id, common, failed)
            raise
        print(
            f"before: pointer -> run {plan.from_run}; after: pointer -> run {plan.to_run} "
            f"(previous_run_id {plan.from_run})"
        )
        print(
            f"current/: copied {len(record['copies'])} objects of run {plan.to_run}, "
            f"removed {len(record['removed'])} stale"
        )
        outcome = _outcome(store, env.name, started.id, common, {"status": "applied", **record})
        if isinstance(outcome, str):
            return _no(
                f"the rollback above was written (started record {started.id}) but its "
                f"outcome record was not: {outcome}"
            )
    print(f"audit record: {outcome.id} (started record {started.id})")
    return EXIT_OK


def _plan_data(plan: DataRollbackPlan) -> dict[str, Any]:
    """What the started record says is about to happen."""
    return {
        "layer": plan.layer,
        "bucket": plan.bucket,
        "pointer": f"s3://{plan.bucket}/{plan.pointer_key}",
        "from_run": plan.from_run,
        "to_run": plan.to_run,
        "pointer_etag": plan.pointer_etag,
        "copies": [list(pair) for pair in plan.copies],
        "stale": list(plan.stale),
    }


def _outcome(
    store: AuditStore, env: str, started: str, common: dict[str, Any], data: dict[str, Any]
) -> AuditRecord | str:
    """The outcome record, which names the started one; or why it could not be written."""
    try:
        return store.write(AUDIT_KIND, env, {**data, **common, "started_record": started})
    except OhpenError as error:
        return str(error)


# ---------------------------------------------------------------- helpers


def _layer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--layer", metavar="LAYER", required=True, help="a layer of [<env>.data], e.g. silver"
    )


def required_reason(given: str) -> str:
    """The reason without surrounding blanks; ConfigError (exit 2, before any AWS call) when
    nothing is left: the pointer and the audit record must say why."""
    reason = given.strip()
    if not reason:
        raise ConfigError(
            f"data rollback --reason {given!r}: a reason is required and cannot be blank; say "
            "why the layer is rolled back, e.g. --reason 'run 2024-05-01 wrote duplicates'"
        )
    return reason


def _layer(env: Environment, name: str) -> DataLayer:
    """The configured layer; ConfigError (exit 2) listing the configured ones."""
    if name not in env.data:
        known = ", ".join(sorted(env.data)) or "none"
        raise ConfigError(
            f"{env.source}: unknown data layer {name!r} in environment {env.name}; "
            f"configured layers: {known} (add [{env.name}.data.{name}] with bucket and prefix)"
        )
    return env.data[name]


def _who(caller_arn: str | None) -> dict[str, str]:
    """The AWS identity the account guard saw, and the human or CI user if known."""
    who = {"aws_caller": caller_arn or "unknown"}
    who.update({name: os.environ[name] for name in HUMAN_VARIABLES if os.environ.get(name)})
    return who


def _operator(who: dict[str, str]) -> str:
    """One string for the pointer's ``promoted_by``: "person (arn)" or just the arn."""
    person = next((who[name] for name in HUMAN_VARIABLES if name in who), None)
    return f"{person} ({who['aws_caller']})" if person else who["aws_caller"]


def _no(message: str) -> int:
    print(f"ohpen data: {message}", file=sys.stderr)
    return EXIT_NO


_aws_errors = answer_no_on("data", DataRollbackRefused, DataRollbackConflict)
