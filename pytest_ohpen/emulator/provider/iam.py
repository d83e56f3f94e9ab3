"""IAM: the service roles and their inline least-privilege policies."""

from __future__ import annotations

import json
from typing import Any

from tf.schema import Schema

from pytest_ohpen.emulator.provider.base import AwsResource, State, attr, aws_code, same_json

MISSING = ("NoSuchEntity",)


def _document(value: Any) -> Any:
    """IAM answers a policy document as a dict (boto3 decodes it) or URL-encoded text."""
    if isinstance(value, str):
        from urllib.parse import unquote

        return json.loads(unquote(value))
    return value


class Role(AwsResource):
    type_name = "aws_iam_role"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("assume_role_policy", required=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        answer = self.aws("iam").create_role(
            RoleName=planned["name"], AssumeRolePolicyDocument=planned["assume_role_policy"]
        )
        return {**planned, "arn": answer["Role"]["Arn"], "id": planned["name"]}

    def change(self, current: State, planned: State) -> State:
        self.aws("iam").update_assume_role_policy(
            RoleName=planned["name"], PolicyDocument=planned["assume_role_policy"]
        )
        return {**current, **planned, "arn": current["arn"], "id": current["id"]}

    def look(self, current: State) -> State | None:
        name = current.get("name") or current["id"]
        try:
            role = self.aws("iam").get_role(RoleName=name)["Role"]
        except Exception as error:
            if aws_code(error) in MISSING:
                return None
            raise
        return {
            "name": name,
            "assume_role_policy": same_json(
                _document(role["AssumeRolePolicyDocument"]), current.get("assume_role_policy")
            ),
            "arn": role["Arn"],
            "id": name,
        }

    def remove(self, current: State) -> None:
        iam, name = self.aws("iam"), current["name"]
        for policy in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)


class RolePolicy(AwsResource):
    type_name = "aws_iam_role_policy"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("role", required=True, requires_replace=True),
            attr("policy", required=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        self.aws("iam").put_role_policy(
            RoleName=planned["role"], PolicyName=planned["name"], PolicyDocument=planned["policy"]
        )
        return {**planned, "id": f"{planned['role']}:{planned['name']}"}

    def change(self, current: State, planned: State) -> State:
        return self.make(planned)

    def look(self, current: State) -> State | None:
        role, name = current.get("role"), current.get("name")
        if not role or not name:
            role, _, name = str(current["id"]).partition(":")
        try:
            answer = self.aws("iam").get_role_policy(RoleName=role, PolicyName=name)
        except Exception as error:
            if aws_code(error) in MISSING:
                return None
            raise
        return {
            "name": name,
            "role": role,
            "policy": same_json(_document(answer["PolicyDocument"]), current.get("policy")),
            "id": f"{role}:{name}",
        }

    def remove(self, current: State) -> None:
        self.aws("iam").delete_role_policy(RoleName=current["role"], PolicyName=current["name"])


RESOURCES = (Role, RolePolicy)
