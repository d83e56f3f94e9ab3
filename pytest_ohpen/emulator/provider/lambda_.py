"""Lambda: the run-summary function and the permission that lets the pipeline invoke it."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tf.schema import Schema
from tf.types import Number

from pytest_ohpen.emulator.provider.base import AwsResource, State, attr, aws_code

MISSING = ("ResourceNotFoundException",)


class Function(AwsResource):
    type_name = "aws_lambda_function"
    name_key = "function_name"
    schema = Schema(
        attributes=[
            attr("function_name", required=True, requires_replace=True),
            attr("role", required=True),
            attr("handler", required=True),
            attr("runtime", required=True),
            attr("filename", optional=True),
            attr("source_code_hash", optional=True, computed=True),
            attr("memory_size", Number(), optional=True, computed=True),
            attr("timeout", Number(), optional=True, computed=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def _code(self, planned: State) -> bytes:
        return self.aws.read_bytes(planned["filename"])

    def make(self, planned: State) -> State:
        code = self._code(planned)
        answer = self.aws("lambda").create_function(
            FunctionName=planned["function_name"],
            Role=planned["role"],
            Handler=planned["handler"],
            Runtime=planned["runtime"],
            Code={"ZipFile": code},
            MemorySize=int(planned.get("memory_size") or 128),
            Timeout=int(planned.get("timeout") or 3),
        )
        return self._state(planned, answer)

    def _state(self, planned: State, config: dict[str, Any]) -> State:
        return {
            **planned,
            "role": config["Role"],
            "handler": config["Handler"],
            "runtime": config["Runtime"],
            "memory_size": config["MemorySize"],
            "timeout": config["Timeout"],
            "source_code_hash": config["CodeSha256"],
            "arn": config["FunctionArn"],
            "id": planned["function_name"],
        }

    def change(self, current: State, planned: State) -> State:
        client, name = self.aws("lambda"), planned["function_name"]
        code = self._code(planned)
        digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
        if digest != current.get("source_code_hash"):
            client.update_function_code(FunctionName=name, ZipFile=code)
        answer = client.update_function_configuration(
            FunctionName=name,
            Role=planned["role"],
            Handler=planned["handler"],
            Runtime=planned["runtime"],
            MemorySize=int(planned.get("memory_size") or 128),
            Timeout=int(planned.get("timeout") or 3),
        )
        return self._state(planned, {**answer, "CodeSha256": digest})

    def look(self, current: State) -> State | None:
        name = current.get("function_name") or current["id"]
        try:
            config = self.aws("lambda").get_function_configuration(FunctionName=name)
        except Exception as error:
            if aws_code(error) in MISSING:
                return None
            raise
        return self._state({**current, "function_name": name}, config)

    def remove(self, current: State) -> None:
        self.aws("lambda").delete_function(FunctionName=current["function_name"])


class Permission(AwsResource):
    type_name = "aws_lambda_permission"
    name_key = "statement_id"
    schema = Schema(
        attributes=[
            attr("statement_id", required=True, requires_replace=True),
            attr("action", required=True, requires_replace=True),
            attr("function_name", required=True, requires_replace=True),
            attr("principal", required=True, requires_replace=True),
            attr("source_arn", optional=True, requires_replace=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        options = {
            "FunctionName": planned["function_name"],
            "StatementId": planned["statement_id"],
            "Action": planned["action"],
            "Principal": planned["principal"],
        }
        if planned.get("source_arn"):
            options["SourceArn"] = planned["source_arn"]
        self.aws("lambda").add_permission(**options)
        return {**planned, "id": planned["statement_id"]}

    def look(self, current: State) -> State | None:
        try:
            policy = self.aws("lambda").get_policy(FunctionName=current["function_name"])
        except Exception as error:
            if aws_code(error) in MISSING:
                return None
            raise
        statements = json.loads(policy["Policy"]).get("Statement", [])
        if not any(s.get("Sid") == current["statement_id"] for s in statements):
            return None
        return current

    def remove(self, current: State) -> None:
        self.aws("lambda").remove_permission(
            FunctionName=current["function_name"], StatementId=current["statement_id"]
        )


RESOURCES = (Function, Permission)
