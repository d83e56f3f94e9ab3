"""``ohpen state``: the Terraform state versions in the S3 backend, and restoring one.

The playbook's Manual Rollback Steps 1-4 as commands: ``versions`` (Step 1's table, with
each version's serial and lineage), ``fetch`` (Step 2, validated), ``backup`` (Step 3) and
``restore`` (Step 4 as one checked, conditional write instead of ``terraform state push``;
a dry run unless ``--apply``). Every command runs after the account guard.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from pytest_ohpen.aws.errors import S3_NO_VERSION_BODY, error_code
from pytest_ohpen.cli.common import (
    EXIT_NO,
    EXIT_OK,
    EXIT_USAGE,
    answer_no_on,
    environment_options,
    open_run,
)
from pytest_ohpen.cli.out_file import out_file, out_options, write_out_file
from pytest_ohpen.cli.restore_records import (
    AUDIT_KIND,
    STARTED,
    plan_data,
    record_failed,
    record_written,
)
from pytest_ohpen.config.environments import Environment, Terraform
from pytest_ohpen.errors import ConfigError, OhpenError
from pytest_ohpen.records.store import AuditStore
from pytest_ohpen.rollback.guard import STATE_RESTORE, Blocked, forced_line, guard, override_of
from pytest_ohpen.rollback.incident import DETECTED_AT_HELP, attempt_context, detected_at_option
from pytest_ohpen.terraform.restore_apply import (
    RestoreIncomplete,
    RestoreResult,
    StateConflict,
    apply_restore,
    check_unlocked,
)
from pytest_ohpen.terraform.restore_plan import (
    RestorePlan,
    RestoreRefused,
    plan_restore,
    read_latest,
    validate_state,
)
from pytest_ohpen.terraform.state_versions import (
    StateParseError,
    StateVersion,
    list_versions,
    read_version,
)
from pytest_ohpen.util.tables import text_table

BACKUPS = "backups"
"""The folder beside the audit directory that ``restore --apply`` backs up into."""


def register(commands: Any) -> None:
    """Add ``state`` (versions, fetch, backup, restore) to the ``ohpen`` subcommands."""
    parser = commands.add_parser(
        "state",
        help="Terraform state versions in the S3 backend: list, fetch, back up, restore",
        description="The playbook's manual rollback Steps 1-4 against the environment's S3 "
        "state backend. Exit 0 done, 1 refused or failed, 2 usage or configuration error.",
    )
    state = parser.add_subparsers(title="state commands", required=True, metavar="COMMAND")

    versions = state.add_parser(
        "versions",
        help="list the state's versions, newest first, with serial and lineage",
        description="Every version of the state object (and delete markers), newest first.",
    )
    environment_options(versions)
    versions.set_defaults(handler=_aws_errors(run_versions))

    fetch = state.add_parser(
        "fetch",
        help="download one state version to a file, validated",
        description="Download VERSION, check it is a Terraform state (format 4), write FILE "
        "atomically. An invalid version exits 1 and writes nothing. An existing FILE is "
        "never replaced (exit 2) unless --force.",
    )
    fetch.add_argument("version", metavar="VERSION", help="the S3 version id")
    environment_options(fetch)
    out_options(fetch)
    fetch.set_defaults(handler=_aws_errors(run_fetch))

    backup = state.add_parser(
        "backup",
        help="save the current state version to a file",
        description="Write the latest version of the state to FILE atomically. An existing "
        "FILE is never replaced (exit 2) unless --force.",
    )
    environment_options(backup)
    out_options(backup)
    backup.set_defaults(handler=_aws_errors(run_backup))

    restore = state.add_parser(
        "restore",
        help="make an earlier version (or a backup file) the current state; dry run by default",
        description="Write VERSION's state (or BACKUP's) as the new current version with serial "
        "current+1 and the same lineage, only if the state did not change since it was read. "
        "Without --apply nothing is written.",
    )
    restore.add_argument("version", metavar="VERSION", nargs="?", help="the S3 version id")
    restore.add_argument(
        "--from-file", metavar="BACKUP", type=Path, help="restore this state file instead"
    )
    environment_options(restore)
    mode = restore.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="show what would be written (default)")
    mode.add_argument(
        "--apply", action="store_true", help="write it (default: dry run, nothing written)"
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="apply despite readiness blockers (e.g. a running pipeline); needs --reason",
    )
    restore.add_argument("--reason", metavar="TEXT", help="why, for the audit record")
    restore.add_argument(
        "--detected-at", metavar="WHEN", type=detected_at_option, help=DETECTED_AT_HELP
    )
    restore.set_defaults(handler=_aws_errors(run_restore))


def run_versions(args: argparse.Namespace) -> int:
    """Step 1: the versions table, newest first; exit 0."""
    with open_run(args) as run:
        tf = _terraform(run.environment)
        s3 = run.clients.client("s3")
        versions = list_versions(s3, tf.state_bucket, tf.state_key)
        if not versions:
            print(f"s3://{tf.state_bucket}/{tf.state_key}: no versions")
            return EXIT_OK
        rows = [_row(s3, tf, version) for version in versions]
    header = ("VersionId", "LastModified", "IsLatest", "Serial", "Lineage", "Size")
    for line in text_table(header, rows, right_aligned={3, 5}):
        print(line)
    return EXIT_OK


def run_fetch(args: argparse.Namespace) -> int:
    """Step 2: one version to FILE if it is a usable state; exit 1 (FILE untouched) if not."""
    out = out_file(args, "fetch")
    with open_run(args) as run:
        tf = _terraform(run.environment)
        where = f"s3://{tf.state_bucket}/{tf.state_key}"
        body = _read_version(run.clients.client("s3"), tf, args.version)
    if body is None:
        return _no(f"{where} has no version {args.version} with a body; {out} not written")
    try:
        summary = validate_state(body)
    except StateParseError as error:
        return _no(
            f"version {args.version} of {where} is not a usable Terraform state ({error}); "
            f"{out} not written"
        )
    problem = write_out_file(out, body, args.force, "fetch")
    if problem:
        return _no(problem)
    print(
        f"wrote {out}: version {args.version}, serial {summary.serial}, lineage "
        f"{summary.lineage}, {len(body)} bytes, Terraform {summary.terraform_version}, "
        f"{summary.resource_count} resources"
    )
    return EXIT_OK


def run_backup(args: argparse.Namespace) -> int:
    """Step 3: the current version to FILE; exit 1 when there is none (FILE untouched)."""
    out = out_file(args, "backup")
    with open_run(args) as run:
        tf = _terraform(run.environment)
        try:
            current = read_latest(run.clients.client("s3"), tf.state_bucket, tf.state_key)
        except RestoreRefused as error:
            return _no(f"{error}; {out} not written")
    try:
        current.body.decode("utf-8")
    except UnicodeDecodeError:
        return _no(f"version {current.version_id} is not UTF-8 text; {out} not written")
    problem = write_out_file(out, current.body, args.force, "backup")
    if problem:
        return _no(problem)
    try:
        summary = validate_state(current.body)
        what = f"serial {summary.serial}, lineage {summary.lineage}"
    except StateParseError as error:
        what = f"warning: not a usable Terraform state ({error})"
    print(f"wrote {out}: version {current.version_id}, {what}, {len(current.body)} bytes")
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    """Step 4: dry run (exit 0, nothing written) or, with --apply: the guard, a "started"
    audit record, the conditional write, and its outcome record (nothing is written when
    the started record cannot be)."""
    if (args.version is None) == (args.from_file is None):
        print(
            "ohpen state restore: give a VERSION or --from-file BACKUP (one of them)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    override = override_of(STATE_RESTORE, args.force, args.reason)
    attempt = attempt_context(args.detected_at)  # a bad OHPEN_DETECTED_AT: exit 2, no change
    with open_run(args) as run:
        env = run.environment
        tf = _terraform(env)
        s3 = run.clients.client("s3")
        dynamodb = run.clients.client("dynamodb") if tf.lock_table else None
        try:
            plan = plan_restore(
                s3,
                tf.state_bucket,
                tf.state_key,
                target_version_id=args.version,
                from_file=args.from_file.resolve() if args.from_file else None,
            )
            for line in plan.describe():
                print(line)
            if not args.apply:
                try:
                    check_unlocked(dynamodb, s3, tf)
                except RestoreRefused as error:
                    print(f"note: {error}")
                print("dry-run: nothing written; add --apply")
                return EXIT_OK
            check_unlocked(dynamodb, s3, tf)
            cleared = guard(STATE_RESTORE, env, run.clients, run.repo, override)
        except (RestoreRefused, StateConflict, Blocked) as error:
            return _no(f"ohpen state restore: {error}", prefixed=True)
        warning = forced_line(STATE_RESTORE, cleared)
        if warning:
            print(warning)
        common = {
            "reason": override.reason,
            "operator": run.caller_arn,
            **cleared.record(),
            **attempt,
        }
        store = run.audit_store()
        try:
            started = store.write(
                AUDIT_KIND, env.name, {"status": STARTED, **common, **plan_data(plan)}
            )
        except OhpenError as error:
            return _no(
                f"ohpen state restore: cannot record the restore before writing it: {error}; "
                "nothing was written",
                prefixed=True,
            )
        common["started_record"] = started.id
        try:
            result = apply_restore(
                s3,
                tf.state_bucket,
                tf.state_key,
                plan,
                backup_dir=env.audit.directory.parent / BACKUPS,
                dynamodb=dynamodb,
                lock_table=tf.lock_table,
                operator=run.caller_arn,
            )
        except RestoreIncomplete as error:
            for line in _report(args, env, plan, error.result):
                print(line)
            print(f"ohpen state restore: {error}", file=sys.stderr)
            _audit(store, args, env, plan, error.result, {**common, "status": "incomplete"})
            return EXIT_NO
        except Exception as error:  # refused, a conflict, an AWS error: recorded, then told
            record_failed(store, env.name, plan, common, error)
            if isinstance(error, RestoreRefused | StateConflict):
                return _no(f"ohpen state restore: {error}", prefixed=True)
            raise
        for line in _report(args, env, plan, result):
            print(line)
        return _audit(store, args, env, plan, result, {**common, "status": "applied"})


# ---------------------------------------------------------------- helpers


def _terraform(env: Environment) -> Terraform:
    if env.terraform is None:
        raise ConfigError(
            f"{env.source}: [{env.name}.terraform] missing; state_bucket and state_key say "
            "where the environment's Terraform state is"
        )
    return env.terraform


def _row(s3: Any, tf: Terraform, version: StateVersion) -> tuple[str, ...]:
    """One table row; a version that cannot be read or parsed shows "?" for serial and lineage."""
    import botocore.exceptions as bex

    if version.is_delete_marker:
        serial, lineage = "-", "(delete marker)"
    else:
        try:
            summary = validate_state(
                read_version(s3, tf.state_bucket, tf.state_key, version.version_id)
            )
            serial, lineage = str(summary.serial), summary.lineage
        except (StateParseError, bex.ClientError, bex.BotoCoreError):
            serial, lineage = "?", "?"
    modified = version.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        version.version_id,
        modified,
        str(version.is_latest),
        serial,
        lineage,
        str(version.size),
    )


def _read_version(s3: Any, tf: Terraform, version_id: str) -> bytes | None:
    """The version's body, or None when there is no such version (or it is a delete marker)."""
    import botocore.exceptions as bex

    try:
        return read_version(s3, tf.state_bucket, tf.state_key, version_id)
    except bex.ClientError as error:
        if error_code(error) in S3_NO_VERSION_BODY:
            return None
        raise


def _report(
    args: argparse.Namespace, env: Environment, plan: RestorePlan, result: RestoreResult
) -> list[str]:
    undo_version, undo_file = _undo(args, env, result)
    return [
        f"restored s3://{plan.bucket}/{plan.key}: new version {result.new_version_id}, "
        f"serial {result.new_serial}, holds {plan.source} (serial {plan.target_serial})",
        f"backup of the previous version {result.previous_version_id} "
        f"(serial {plan.current_serial}): {result.backup_path}",
        f"undo: {undo_version}",
        f"  or: {undo_file}",
    ]


def _undo(args: argparse.Namespace, env: Environment, result: RestoreResult) -> tuple[str, str]:
    """The two commands that undo ``result``: restore the previous version, or its backup."""
    common = ["--env", env.name]
    if getattr(args, "targets", None):
        common += ["--targets", str(Path(args.targets).resolve())]
    base = ["ohpen", "state", "restore"]
    by_version = [*base, result.previous_version_id, *common, "--apply"]
    by_file = [*base, "--from-file", str(result.backup_path), *common, "--apply"]
    return shlex.join(by_version), shlex.join(by_file)


def _audit(
    store: AuditStore,
    args: argparse.Namespace,
    env: Environment,
    plan: RestorePlan,
    result: RestoreResult,
    common: dict[str, Any],
) -> int:
    """Record a restore that was written; exit 1 (the restore stands) if the record fails."""
    problem = record_written(store, env.name, plan, result, list(_undo(args, env, result)), common)
    if problem:
        return _no(
            "ohpen state restore: the restore above was written but its audit record was not: "
            f"{problem}",
            prefixed=True,
        )
    return EXIT_OK


def _no(message: str, prefixed: bool = False) -> int:
    print(message if prefixed else f"ohpen state: {message}", file=sys.stderr)
    return EXIT_NO


_aws_errors = answer_no_on("state")
