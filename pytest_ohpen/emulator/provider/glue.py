"""Glue: the Spark job. moto has no UpdateJob, so a change makes the job again (the plan
says "must be replaced" for the job's own attributes)."""

from __future__ import annotations

from typing import Any

from tf.blocks import SetNestedBlock
from tf.schema import Block, Schema
from tf.types import Map, Number, String

from pytest_ohpen.emulator.provider.base import AwsResource, State, attr, aws_code


class Job(AwsResource):
    type_name = "aws_glue_job"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("role_arn", required=True, requires_replace=True),
            attr("glue_version", optional=True, requires_replace=True),
            attr("worker_type", optional=True, requires_replace=True),
            attr("number_of_workers", Number(), optional=True, requires_replace=True),
            attr("timeout", Number(), optional=True, requires_replace=True),
            attr("default_arguments", Map(String()), optional=True, requires_replace=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ],
        block_types=[
            SetNestedBlock(
                "command",
                Block(
                    attributes=[
                        attr("name", optional=True),
                        attr("script_location", required=True),
                        attr("python_version", optional=True),
                    ]
                ),
            )
        ],
    )

    def make(self, planned: State) -> State:
        command = planned["command"][0]
        spec: dict[str, Any] = {
            "Name": planned["name"],
            "Role": planned["role_arn"],
            "Command": {
                k: v
                for k, v in {
                    "Name": command.get("name") or "glueetl",
                    "ScriptLocation": command["script_location"],
                    "PythonVersion": command.get("python_version"),
                }.items()
                if v
            },
        }
        for key, field in (
            ("glue_version", "GlueVersion"),
            ("worker_type", "WorkerType"),
            ("number_of_workers", "NumberOfWorkers"),
            ("timeout", "Timeout"),
            ("default_arguments", "DefaultArguments"),
        ):
            if planned.get(key) is not None:
                spec[field] = planned[key]
        self.aws("glue").create_job(**spec)
        return {**planned, "arn": self._arn(planned["name"]), "id": planned["name"]}

    def _arn(self, name: str) -> str:
        sts = self.aws("sts").get_caller_identity()
        return f"arn:aws:glue:{self.aws('glue').meta.region_name}:{sts['Account']}:job/{name}"

    def look(self, current: State) -> State | None:
        name = current.get("name") or current["id"]
        try:
            job = self.aws("glue").get_job(JobName=name)["Job"]
        except Exception as error:
            if aws_code(error) == "EntityNotFoundException":
                return None
            raise
        command = job.get("Command", {})
        return {
            "name": name,
            "role_arn": job.get("Role"),
            "glue_version": job.get("GlueVersion"),
            "worker_type": job.get("WorkerType"),
            "number_of_workers": job.get("NumberOfWorkers"),
            "timeout": job.get("Timeout"),
            "default_arguments": job.get("DefaultArguments") or current.get("default_arguments"),
            "arn": current.get("arn") or self._arn(name),
            "id": name,
            "command": [
                {
                    "name": command.get("Name"),
                    "script_location": command.get("ScriptLocation"),
                    "python_version": command.get("PythonVersion"),
                }
            ],
        }

    def remove(self, current: State) -> None:
        self.aws("glue").delete_job(JobName=current["name"])


RESOURCES = (Job,)
