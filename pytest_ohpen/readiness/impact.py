"""What a failed resource affects, as the account shows it: the playbook's "which tables and
jobs are affected", read from the Glue Data Catalog, the Glue jobs and the state machines
rather than only from the environments file's ``[resources.feeds]``.

:func:`impact` is pure (the account's answers in, one :class:`Impact` per failed resource
out); :func:`read_account` asks AWS, read-only and within the run's deadline. A listing that
could not be read is recorded as unknown (a warning), never read as "nothing affected".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from pytest_ohpen.readiness import impact_names as names

if TYPE_CHECKING:
    from pytest_ohpen.aws.clients import AwsClients
    from pytest_ohpen.util.deadline import Deadline

TABLES, JOBS, STATE_MACHINES = "tables", "jobs", "state_machines"
"""The account's listings an impact is computed from (and keys of ``Account.unknown``)."""
LISTINGS_OF_KIND: Mapping[str, tuple[str, ...]] = {
    "buckets": (TABLES, JOBS, STATE_MACHINES),
    "glue_jobs": (STATE_MACHINES,),
    "lambdas": (STATE_MACHINES,),
    "state_machines": (STATE_MACHINES,),
    "roles": (JOBS, STATE_MACHINES),
}
"""Which listings can show what a failed resource of each kind affects; a kind not here
(alarms, tables) affects nothing the account's listings name."""
MACHINE_GONE = frozenset({"StateMachineDoesNotExist"})
KIND_LABEL = {
    "buckets": "bucket",
    "glue_jobs": "Glue job",
    "lambdas": "Lambda",
    "state_machines": "state machine",
    "roles": "role",
    "alarms": "alarm",
    "tables": "table",
}
"""A ``[<env>.resources]`` kind in the report's words."""
WHAT = {TABLES: "Glue Data Catalog tables", JOBS: "Glue jobs", STATE_MACHINES: "state machines"}


class FailedResource(NamedTuple):
    """A failed check's resource: its ``[<env>.resources]`` kind and its name (the test id)."""

    kind: str
    name: str


@dataclass(frozen=True)
class Affected:
    """One table, job or state machine a failed resource affects, and why (one line)."""

    name: str
    why: str


@dataclass(frozen=True)
class Impact:
    """What one failed resource affects in the account. ``unknown`` names each listing
    that could not be read, so an empty list beside it is "not known", not "none"."""

    resource: str
    kind: str
    tables: tuple[Affected, ...] = ()
    jobs: tuple[Affected, ...] = ()
    state_machines: tuple[Affected, ...] = ()
    from_file: tuple[str, ...] = ()
    """What ``[<env>.resources.feeds]`` says it feeds: an addition to the account's answer."""
    unknown: tuple[str, ...] = ()

    @property
    def looked_up(self) -> bool:
        """Whether the account's listings can name what a resource of this kind affects."""
        return self.kind in LISTINGS_OF_KIND

    @property
    def kind_label(self) -> str:
        """The resource's kind in the report's words ("bucket", "Glue job")."""
        return KIND_LABEL.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """'bucket ohpen-silver': the resource in the report's words."""
        return f"{self.kind_label} {self.resource}"

    @property
    def nothing_found(self) -> bool:
        """Whether every listing was read and none names the resource."""
        return not (self.tables or self.jobs or self.state_machines or self.unknown)


@dataclass
class Account:
    """The account's listings; a listing in ``unknown`` (why, one line) could not be read
    (or was not asked for, as no failed kind needs it) and is empty here."""

    tables: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    state_machines: list[dict[str, Any]] = field(default_factory=list)
    unknown: dict[str, str] = field(default_factory=dict)


def failed_resources(pairs: Iterable[tuple[str | None, str | None]]) -> list[FailedResource]:
    """The distinct (kind, resource) of failed checks, in order; checks without either
    (a check of no particular resource) have no impact to compute."""
    seen: dict[FailedResource, None] = {}
    for kind, name in pairs:
        if kind and name:
            seen.setdefault(FailedResource(kind, name), None)
    return list(seen)


def listings_needed(failed: Iterable[FailedResource]) -> tuple[str, ...]:
    """The listings the failed kinds need, in a fixed order (none when nothing failed)."""
    wanted = {listing for f in failed for listing in LISTINGS_OF_KIND.get(f.kind, ())}
    return tuple(listing for listing in (TABLES, JOBS, STATE_MACHINES) if listing in wanted)


# ------------------------------------------------------------------ pure: the impact


def impact(
    failed: list[FailedResource],
    catalog_tables: list[dict[str, Any]],
    jobs: list[dict[str, Any]],
    state_machines: list[dict[str, Any]],
    *,
    unknown: Mapping[str, str] | None = None,
) -> list[Impact]:
    """One Impact per failed resource: the tables whose location is in a failed bucket, the
    Glue jobs whose script, arguments or role use it, and the state machines whose states
    name it (or a job it affects), each with why. ``unknown`` (listing → why) marks the
    listings that could not be read: they are named in each Impact that needs them."""
    unknown = unknown or {}
    found = []
    for resource in failed:
        needed = LISTINGS_OF_KIND.get(resource.kind, ())
        jobs_hit = _jobs(resource, jobs) if JOBS in needed else ()
        found.append(
            Impact(
                resource=resource.name,
                kind=resource.kind,
                tables=_tables(resource, catalog_tables) if TABLES in needed else (),
                jobs=jobs_hit,
                state_machines=_machines(resource, jobs_hit, state_machines)
                if STATE_MACHINES in needed
                else (),
                unknown=tuple(
                    f"{WHAT[listing]}: {unknown[listing]}"
                    for listing in needed
                    if listing in unknown
                ),
            )
        )
    return found


def _tables(resource: FailedResource, tables: list[dict[str, Any]]) -> tuple[Affected, ...]:
    found = []
    for table in tables:
        location = str((table.get("StorageDescriptor") or {}).get("Location") or "")
        if location and names.names_bucket(location, resource.name):
            found.append(Affected(_table_name(table), f"location {location}"))
    return tuple(found)


def _table_name(table: Mapping[str, Any]) -> str:
    return f"{table.get('DatabaseName', '?')}.{table.get('Name', '?')}"


def _jobs(resource: FailedResource, jobs: list[dict[str, Any]]) -> tuple[Affected, ...]:
    found = []
    for job in jobs:
        hits = [
            f"{what} {text}"
            for what, text in _job_strings(job, resource.kind)
            if names.names(resource.kind, resource.name, text)
        ]
        if hits:
            found.append(Affected(str(job.get("Name", "?")), "; ".join(hits)))
    return tuple(found)


def _job_strings(job: Mapping[str, Any], kind: str) -> list[tuple[str, str]]:
    """The job's strings that can name a resource of ``kind``, each with what it is."""
    if kind == "roles":
        return [("role", str(job["Role"]))] if job.get("Role") else []
    found = []
    script = (job.get("Command") or {}).get("ScriptLocation")
    if script:
        found.append(("script", str(script)))
    for key in ("DefaultArguments", "NonOverridableArguments"):
        for argument, value in (job.get(key) or {}).items():
            found.append((f"argument {argument}", str(value)))
    return found


def _machines(
    resource: FailedResource, jobs_hit: tuple[Affected, ...], machines: list[dict[str, Any]]
) -> tuple[Affected, ...]:
    """State machines naming the resource in a state (or, for a role, running as it), or
    starting a Glue job the resource affects."""
    found = []
    for machine in machines:
        why = []
        if resource.kind == "roles" and names.names("roles", resource.name, machine.get("roleArn")):
            why.append(f"role {machine['roleArn']}")
        for state, text in state_strings(machine.get("definition")):
            if resource.kind != "roles" and names.names(resource.kind, resource.name, text):
                why.append(f"state {state}")
            why += [
                f"state {state} (via Glue job {job.name})"
                for job in jobs_hit
                if names.names("glue_jobs", job.name, text)
            ]
        if why:
            found.append(Affected(str(machine.get("name", "?")), "; ".join(dict.fromkeys(why))))
    return tuple(found)


def state_strings(definition: object) -> Iterator[tuple[str, str]]:
    """Every string of every state's Resource, Parameters and Arguments, with the state's
    name, Map and Parallel states' inner states included; a definition that is not JSON
    is one string of a state named "(definition)"."""
    if not isinstance(definition, str):
        yield from _states_of(definition)
        return
    try:
        parsed = json.loads(definition)
    except ValueError:
        yield "(definition)", definition
        return
    yield from _states_of(parsed)


def _states_of(machine: object) -> Iterator[tuple[str, str]]:
    if not isinstance(machine, dict):
        return
    states = machine.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        for key in ("Resource", "Parameters", "Arguments"):
            for text in _strings(state.get(key)):
                yield str(name), text
        for inner in ("Iterator", "ItemProcessor"):
            yield from _states_of(state.get(inner))
        for branch in state.get("Branches") or ():
            yield from _states_of(branch)


def _strings(value: object) -> Iterator[str]:
    """Every string in a JSON value (keys not included: they name parameters)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# ------------------------------------------------------------------ I/O: the account


def read_account(
    clients: AwsClients,
    region: str,
    account_id: str,
    deadline: Deadline | None,
    *,
    failed: Iterable[FailedResource],
) -> Account:
    """The listings the failed kinds need (none when nothing failed), read-only:
    GetDatabases → GetTables, GetJobs, ListStateMachines → DescribeStateMachine, paginated
    and within what is left of ``deadline``. A listing that could not be read (AWS error,
    no answer, out of time) is in ``Account.unknown``, with why and where."""
    from pytest_ohpen.checks.base import Where

    where = Where(account_id, region)
    account = Account()
    needed = listings_needed(failed)
    if not needed:
        return account
    if deadline is not None:
        clients = clients.bounded(deadline.remaining())
    readers: dict[str, Callable[[Callable[[], None]], list[dict[str, Any]]]] = {
        TABLES: lambda tick: _read_tables(clients.client("glue"), tick),
        JOBS: lambda tick: _read_jobs(clients.client("glue"), tick),
        STATE_MACHINES: lambda tick: _read_machines(clients.client("stepfunctions"), tick),
    }
    for listing in needed:
        try:
            setattr(account, listing, readers[listing](_ticker(deadline)))
        except _Unanswered as why:
            account.unknown[listing] = f"could not be read: {why} {where}"
    return account


class _Unanswered(Exception):
    """A listing could not be read; the message says why, in a few words."""


def _ticker(deadline: Deadline | None) -> Callable[[], None]:
    """A check made before every call: raises _Unanswered once the deadline has run out."""

    def tick() -> None:
        if deadline is not None and deadline.expired:
            raise _Unanswered(deadline.ran_out())

    return tick


def _asking(call: Callable[[], Any], gone: frozenset[str] = frozenset()) -> Any:
    """``call()``, its AWS error worded as the checks word it; None when the error's code
    is in ``gone`` (the thing asked about no longer exists)."""
    import botocore.exceptions as bex

    from pytest_ohpen.aws.errors import error_code
    from pytest_ohpen.checks.base import describe_client_error, describe_unanswered, is_transient

    try:
        return call()
    except bex.ClientError as error:
        if error_code(error) in gone:
            return None
        said = describe_unanswered(error) if is_transient(error) else None
        raise _Unanswered(said or describe_client_error(error, frozenset())) from None
    except bex.BotoCoreError as error:
        raise _Unanswered(f"{type(error).__name__}: {error}") from None


def _pages(
    client: Any, operation: str, key: str, tick: Callable[[], None], **params: Any
) -> list[dict[str, Any]]:
    """Every item of a paginated listing, the deadline looked at before each page."""
    pages = iter(client.get_paginator(operation).paginate(**params))
    items: list[dict[str, Any]] = []
    while True:
        tick()
        page = _asking(lambda: next(pages, None))
        if page is None:
            return items
        items += page.get(key, [])


def _read_tables(glue: Any, tick: Callable[[], None]) -> list[dict[str, Any]]:
    tables = []
    for database in _pages(glue, "get_databases", "DatabaseList", tick):
        name = database["Name"]
        for table in _pages(glue, "get_tables", "TableList", tick, DatabaseName=name):
            tables.append({"DatabaseName": name, **table})
    return tables


def _read_jobs(glue: Any, tick: Callable[[], None]) -> list[dict[str, Any]]:
    return _pages(glue, "get_jobs", "Jobs", tick)


def _read_machines(sfn: Any, tick: Callable[[], None]) -> list[dict[str, Any]]:
    described = []
    for machine in _pages(sfn, "list_state_machines", "stateMachines", tick):
        tick()
        arn = machine["stateMachineArn"]
        answer = _asking(partial(sfn.describe_state_machine, stateMachineArn=arn), MACHINE_GONE)
        if answer is not None:  # deleted since it was listed: it runs nothing any more
            described.append(answer)
    return described
