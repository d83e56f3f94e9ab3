"""What the embedded account holds: the environment's resources plus the shared stack.

Pure data, no AWS calls: ``provision`` turns a Stack into resources. Names follow
the rollback playbook (state bucket ohpen-terraform-state, failure topic
ohpen-etl-failures).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

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
STATE_LINEAGE = "6f1c2a4e-0b7d-4c39-9a55-3e2d8f0c1b7a"
STATE_SERIALS = (1, 2, 3)
"""Three applies: the oldest, the previous (good) and the current state version."""
TERRAFORM_VERSION = "1.5.0"


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
        )

    def names(self) -> tuple[str, ...]:
        """Every name ``--emulator-omit`` accepts."""
        singles = tuple(n for n in (self.state_bucket, self.lock_table, self.failure_topic) if n)
        return (
            *self.buckets,
            *self.glue_jobs,
            *self.state_machines,
            *self.lambdas,
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
            state_bucket=None if self.state_bucket in gone else self.state_bucket,
            failure_topic=None if self.failure_topic in gone else self.failure_topic,
            lock_table=None if self.lock_table in gone else self.lock_table,
            alarms=keep(self.alarms),
            omitted=(*self.omitted, *(n for n in omitted if n not in self.omitted)),
        )


def role_name(resource: str) -> str:
    """The IAM role a Glue job, state machine or Lambda runs as."""
    return f"{resource}-role"[:64]


def glue_script_key(job: str) -> str:
    """Where the job's script lives in the artifacts bucket."""
    return f"glue/{job}/main.py"


def state_machine_definition(region: str, account_id: str, stack: Stack) -> str:
    """The pipeline: run the Glue job, read the run summary, notify the failure topic on error."""
    glue_job = stack.glue_jobs[0] if stack.glue_jobs else "ohpen-transaction-etl-spark"
    summary = stack.lambdas[0] if stack.lambdas else "ohpen-read-run-summary"
    topic_arn = f"arn:aws:sns:{region}:{account_id}:{FAILURE_TOPIC}"
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    definition: dict[str, Any] = {
        "Comment": "Ohpen ETL: bronze to silver, then publish the run summary",
        "StartAt": "RunTransactionEtl",
        "States": {
            "RunTransactionEtl": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun",
                "Parameters": {
                    "JobName": glue_job,
                    "Arguments": {
                        "--run_key.$": "$.run_key",
                        "--s3_bucket.$": "$.s3_bucket",
                        "--s3_key.$": "$.s3_key",
                    },
                },
                "ResultPath": "$.glue",
                "Catch": catch,
                "Next": "ReadRunSummary",
            },
            "ReadRunSummary": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": summary, "Payload.$": "$"},
                "ResultPath": "$.summary",
                "Catch": catch,
                "Next": "Done",
            },
            "NotifyFailure": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic_arn, "Message.$": "States.JsonToString($.error)"},
                "Next": "Failed",
            },
            "Failed": {"Type": "Fail", "Error": "PipelineFailed", "Cause": "see the failure topic"},
            "Done": {"Type": "Succeed"},
        },
    }
    return json.dumps(definition, indent=2)


def terraform_state(serial: int, region: str, account_id: str, stack: Stack) -> dict[str, Any]:
    """A Terraform 1.5 state (format 4) recording the stack, as the S3 backend stores it."""

    def resource(kind: str, name: str, attributes: dict[str, Any]) -> dict[str, Any]:
        return {
            "mode": "managed",
            "type": kind,
            "name": name.replace("-", "_"),
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 0, "attributes": attributes}],
        }

    arn = f"arn:aws:{{}}:{region}:{account_id}:{{}}"
    resources = [
        resource("aws_s3_bucket", b, {"bucket": b, "arn": f"arn:aws:s3:::{b}"})
        for b in stack.buckets
    ]
    resources += [
        resource(
            "aws_glue_job",
            j,
            {
                "name": j,
                "worker_type": "G.1X",
                "number_of_workers": 2,
                "timeout": 60,
                "glue_version": "4.0",
                "role_arn": f"arn:aws:iam::{account_id}:role/{role_name(j)}",
                "command": [
                    {
                        "name": "glueetl",
                        "python_version": "3",
                        "script_location": f"s3://{artifacts_bucket(stack)}/{glue_script_key(j)}",
                    }
                ],
            },
        )
        for j in stack.glue_jobs
    ]
    resources += [
        resource(
            "aws_lambda_function",
            f,
            {
                "function_name": f,
                "runtime": "python3.12",
                "handler": "handler.handler",
                "memory_size": 256,
                "timeout": 30,
                "arn": arn.format("lambda", f"function:{f}"),
            },
        )
        for f in stack.lambdas
    ]
    resources += [
        resource(
            "aws_sfn_state_machine",
            m,
            {
                "name": m,
                "arn": arn.format("states", f"stateMachine:{m}"),
                "definition": state_machine_definition(region, account_id, stack),
                "role_arn": f"arn:aws:iam::{account_id}:role/{role_name(m)}",
            },
        )
        for m in stack.state_machines
    ]
    return {
        "version": 4,
        "terraform_version": TERRAFORM_VERSION,
        "serial": serial,
        "lineage": STATE_LINEAGE,
        "outputs": {"deployment": {"value": f"apply-{serial}", "type": "string"}},
        "resources": resources,
    }


def artifacts_bucket(stack: Stack) -> str:
    """The bucket holding job scripts: the one named like artifacts."""
    return next((b for b in stack.buckets if "artifacts" in b), "ohpen-artifacts")
