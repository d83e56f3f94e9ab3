"""Step Functions: the orchestration state machine and the log group it logs to."""

from __future__ import annotations

from typing import Any

from tf.blocks import SetNestedBlock
from tf.schema import Block, Schema
from tf.types import Bool, Number

from pytest_ohpen.emulator.provider.base import AwsResource, State, attr, aws_code, same_json


class LogGroup(AwsResource):
    type_name = "aws_cloudwatch_log_group"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("retention_in_days", Number(), optional=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        logs, name = self.aws("logs"), planned["name"]
        logs.create_log_group(logGroupName=name)
        if planned.get("retention_in_days"):
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(planned["retention_in_days"])
            )
        found = self.look(planned)
        assert found is not None
        return found

    def change(self, current: State, planned: State) -> State:
        logs, name = self.aws("logs"), planned["name"]
        if planned.get("retention_in_days"):
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=int(planned["retention_in_days"])
            )
        else:
            logs.delete_retention_policy(logGroupName=name)
        return {**current, "retention_in_days": planned.get("retention_in_days")}

    def look(self, current: State) -> State | None:
        name = current.get("name") or current["id"]
        groups = self.aws("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == name), None)
        if group is None:
            return None
        return {
            "name": name,
            "retention_in_days": group.get("retentionInDays"),
            "arn": str(group["arn"]).removesuffix(":*"),
            "id": name,
        }

    def remove(self, current: State) -> None:
        self.aws("logs").delete_log_group(logGroupName=current["name"])


class StateMachine(AwsResource):
    type_name = "aws_sfn_state_machine"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("role_arn", required=True),
            attr("definition", required=True),
            attr("type", optional=True, computed=True, requires_replace=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ],
        block_types=[
            SetNestedBlock(
                "logging_configuration",
                Block(
                    attributes=[
                        attr("level", optional=True),
                        attr("include_execution_data", Bool(), optional=True),
                        attr("log_destination", optional=True),
                    ]
                ),
            )
        ],
    )

    @staticmethod
    def _logging(planned: State) -> dict[str, Any] | None:
        configured = planned.get("logging_configuration") or []
        if not configured:
            return None
        logging = configured[0]
        answer: dict[str, Any] = {
            "level": logging.get("level") or "OFF",
            "includeExecutionData": bool(logging.get("include_execution_data")),
        }
        if logging.get("log_destination"):
            answer["destinations"] = [
                {"cloudWatchLogsLogGroup": {"logGroupArn": logging["log_destination"]}}
            ]
        return answer

    def make(self, planned: State) -> State:
        options: dict[str, Any] = {
            "name": planned["name"],
            "definition": planned["definition"],
            "roleArn": planned["role_arn"],
            "type": planned.get("type") if isinstance(planned.get("type"), str) else "STANDARD",
        }
        logging = self._logging(planned)
        if logging:
            options["loggingConfiguration"] = logging
        answer = self.aws("stepfunctions").create_state_machine(**options)
        arn = answer["stateMachineArn"]
        return {**planned, "type": options["type"], "arn": arn, "id": arn}

    def change(self, current: State, planned: State) -> State:
        options: dict[str, Any] = {
            "stateMachineArn": current["arn"],
            "definition": planned["definition"],
            "roleArn": planned["role_arn"],
        }
        logging = self._logging(planned)
        if logging:
            options["loggingConfiguration"] = logging
        self.aws("stepfunctions").update_state_machine(**options)
        return {**planned, "type": current.get("type"), "arn": current["arn"], "id": current["id"]}

    def look(self, current: State) -> State | None:
        arn = current.get("arn") or current["id"]
        try:
            machine = self.aws("stepfunctions").describe_state_machine(stateMachineArn=arn)
        except Exception as error:
            if aws_code(error) == "StateMachineDoesNotExist":
                return None
            raise
        logging = machine.get("loggingConfiguration") or {}
        destinations = logging.get("destinations") or []
        recorded = (current.get("logging_configuration") or [None])[0]
        live_logging = []
        if logging and (recorded or logging.get("level") not in (None, "OFF")):
            live_logging = [
                {
                    "level": logging.get("level"),
                    "include_execution_data": logging.get("includeExecutionData"),
                    "log_destination": destinations[0]["cloudWatchLogsLogGroup"]["logGroupArn"]
                    if destinations
                    else None,
                }
            ]
        return {
            "name": machine["name"],
            "role_arn": machine["roleArn"],
            "definition": same_json(machine["definition"], current.get("definition")),
            "type": machine.get("type", "STANDARD"),
            "arn": arn,
            "id": arn,
            "logging_configuration": live_logging,
        }

    def remove(self, current: State) -> None:
        self.aws("stepfunctions").delete_state_machine(stateMachineArn=current["arn"])


RESOURCES = (LogGroup, StateMachine)
