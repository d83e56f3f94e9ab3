"""Which resources the embedded account holds: the environment's names, less what
``--emulator-omit`` leaves out. What those resources ARE is the stack's Terraform code
(``infra/terraform``); this only names them. Names follow the rollback playbook (state
bucket ohpen-terraform-state, failure topic ohpen-etl-failures).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pytest_ohpen.config.environments import Environment
from pytest_ohpen.errors import ConfigError

STATE_BUCKET = "ohpen-terraform-state"
STATE_KEY = "ohpen-data-lake/terraform.tfstate"
FAILURE_TOPIC = "ohpen-etl-failures"
ALARMS = (
    "ohpen-etl-glue-job-failed",
    "ohpen-etl-pipeline-failed",
    "ohpen-read-run-summary-errors",
)


@dataclass(frozen=True)
class Stack:
    """Everything the embedded account is provisioned with."""

    buckets: tuple[str, ...]
    glue_jobs: tuple[str, ...]
    state_machines: tuple[str, ...]
    lambdas: tuple[str, ...]
    state_bucket: str | None = STATE_BUCKET
    failure_topic: str | None = FAILURE_TOPIC
    alarms: tuple[str, ...] = ALARMS
    state_key: str = STATE_KEY
    lock_table: str | None = None
    tables: tuple[str, ...] = ()
    """Glue Data Catalog tables, "database.table"."""
    omitted: tuple[str, ...] = ()
    """The names ``--emulator-omit`` left out (the account is built without them)."""

    @classmethod
    def for_environment(cls, env: Environment) -> Stack:
        """The environment's resources plus the state bucket, lock table, failure topic and
        alarms (named as the environment's [terraform] and [resources] say, else the playbook)."""
        r, tf = env.resources, env.terraform
        return cls(
            r.buckets,
            r.glue_jobs,
            r.state_machines,
            r.lambdas,
            state_bucket=tf.state_bucket if tf else STATE_BUCKET,
            failure_topic=r.failure_topic or FAILURE_TOPIC,
            alarms=r.alarms or ALARMS,
            state_key=tf.state_key if tf else STATE_KEY,
            lock_table=tf.lock_table if tf else None,
            tables=tuple(getattr(r, "tables", ())),
        )

    def names(self) -> tuple[str, ...]:
        """Every name ``--emulator-omit`` accepts."""
        singles = tuple(n for n in (self.state_bucket, self.lock_table, self.failure_topic) if n)
        return (
            *self.buckets,
            *self.glue_jobs,
            *self.state_machines,
            *self.lambdas,
            *self.tables,
            *singles,
            *self.alarms,
        )

    def without(self, omitted: tuple[str, ...], option: str = "--emulator-omit") -> Stack:
        """This stack less the named resources; an unknown name is a ConfigError."""
        known = self.names()
        for name in omitted:
            if name not in known:
                raise ConfigError(
                    f"{option} {name!r}: no such resource in the embedded account; "
                    f"valid: {', '.join(known)}"
                )
        gone = set(omitted)

        def keep(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(n for n in names if n not in gone)

        return replace(
            self,
            buckets=keep(self.buckets),
            glue_jobs=keep(self.glue_jobs),
            state_machines=keep(self.state_machines),
            lambdas=keep(self.lambdas),
            tables=keep(self.tables),
            state_bucket=None if self.state_bucket in gone else self.state_bucket,
            failure_topic=None if self.failure_topic in gone else self.failure_topic,
            lock_table=None if self.lock_table in gone else self.lock_table,
            alarms=keep(self.alarms),
            omitted=(*self.omitted, *(n for n in omitted if n not in self.omitted)),
        )


def role_name(resource: str) -> str:
    """The IAM role a Glue job, state machine or Lambda runs as."""
    return f"{resource}-role"[:64]
