"""What a rollback would change: the current state against the target state version,
resource instance by instance, without ever showing a sensitive-looking value."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ohpen.readiness.state_diff import (
    ABSENT,
    NESTED,
    SENSITIVE,
    AttributeChange,
    ResourceChange,
    StateDiffError,
    diff_states,
    is_sensitive,
)


def resource(
    type_: str,
    name: str,
    *instances: dict[str, Any],
    mode: str = "managed",
    module: str | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "mode": mode,
        "type": type_,
        "name": name,
        "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
        "instances": list(instances),
    }
    if module:
        found["module"] = module
    return found


def instance(sensitive: tuple[str, ...] = (), **attributes: Any) -> dict[str, Any]:
    return {
        "schema_version": 0,
        "attributes": attributes,
        "sensitive_attributes": [[{"type": "get_attr", "value": name}] for name in sensitive],
    }


def state(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 4,
        "terraform_version": "1.0.3",
        "serial": 7,
        "lineage": "l-1",
        "outputs": {},
        "resources": list(resources),
    }


BRONZE = resource("aws_s3_bucket", "bronze", instance(bucket="ohpen-bronze", acl="private"))
JOB = resource("aws_glue_job", "etl", instance(name="etl", worker_type="G.1X", max_retries=0))


def test_identical_states_change_nothing() -> None:
    diff = diff_states(state(BRONZE, JOB), state(BRONZE, JOB))
    assert diff.empty
    assert (diff.added, diff.removed, diff.changed) == ((), (), ())


def test_added_removed_and_changed_with_the_changed_attribute_names() -> None:
    """Only in the target: the rollback brings it back; only in the current: it goes."""
    topic = resource("aws_sns_topic", "failures", instance(name="ohpen-etl-failures"))
    newer_job = resource(
        "aws_glue_job", "etl", instance(name="etl", worker_type="G.2X", max_retries=3)
    )
    current = state(newer_job, topic)
    target = state(BRONZE, JOB)

    diff = diff_states(current, target)

    assert diff.added == ("aws_s3_bucket.bronze",)
    assert diff.removed == ("aws_sns_topic.failures",)
    assert diff.changed == (
        ResourceChange(
            "aws_glue_job.etl",
            (
                AttributeChange("max_retries", "3", "0"),
                AttributeChange("worker_type", '"G.2X"', '"G.1X"'),
            ),
        ),
    )
    assert not diff.empty


def test_sensitive_looking_and_marked_values_are_never_shown() -> None:
    secret = "s3cr3t-value-never-shown"
    current = state(
        resource(
            "aws_db_instance",
            "meta",
            instance(("endpoint_key",), password=secret, endpoint_key=secret, port=5432),
        )
    )
    target = state(
        resource(
            "aws_db_instance",
            "meta",
            instance(("endpoint_key",), password="other", endpoint_key="other", port=5433),
        )
    )

    (change,) = diff_states(current, target).changed

    assert change.attributes == (
        AttributeChange("endpoint_key", None, None, SENSITIVE),
        AttributeChange("password", None, None, SENSITIVE),
        AttributeChange("port", "5432", "5433"),
    )
    assert secret not in repr(change)


def test_nested_values_are_named_not_shown_and_absent_ones_say_so() -> None:
    current = state(resource("aws_lambda_function", "f", instance(environment=[{"v": {"A": "1"}}])))
    target = state(resource("aws_lambda_function", "f", instance(environment=[], timeout=30)))

    (change,) = diff_states(current, target).changed

    assert change.attributes == (
        AttributeChange("environment", None, None, NESTED),
        AttributeChange("timeout", ABSENT, "30"),
    )


def test_long_values_are_cut() -> None:
    current = state(resource("aws_glue_job", "etl", instance(description="x" * 500)))
    target = state(resource("aws_glue_job", "etl", instance(description="y")))

    (attribute,) = diff_states(current, target).changed[0].attributes

    assert attribute.current is not None
    assert len(attribute.current) == 120
    assert attribute.current.endswith("…")


def test_addresses_name_modules_index_keys_and_deposed_objects() -> None:
    counted = resource(
        "aws_s3_bucket",
        "data",
        {**instance(bucket="a"), "index_key": 0},
        {**instance(bucket="b"), "index_key": "silver"},
        module="module.lake",
    )
    deposed = resource("aws_glue_job", "etl", {**instance(name="old"), "deposed": "00aa"})

    diff = diff_states(state(), state(counted, deposed))

    assert diff.added == (
        "aws_glue_job.etl (deposed object 00aa)",
        'module.lake.aws_s3_bucket.data["silver"]',
        "module.lake.aws_s3_bucket.data[0]",
    )


def test_data_sources_are_left_out() -> None:
    caller = resource("aws_caller_identity", "me", instance(account_id="1"), mode="data")
    assert diff_states(state(caller), state()).empty


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "current state: not a JSON object"),
        ({"resources": {}}, "current state: 'resources' is not a list"),
        ({"resources": [1]}, "current state: resources[0] is not an object"),
        ({"resources": [{"type": "aws_s3_bucket"}]}, "'type' and 'name' must be non-empty"),
        (
            {"resources": [{"type": "t", "name": "n", "instances": {}}]},
            "current state: t.n: 'instances' is not a list",
        ),
        (
            {"resources": [{"type": "t", "name": "n", "instances": [{"attributes": []}]}]},
            "current state: t.n: 'attributes' is not an object",
        ),
    ],
)
def test_a_document_that_is_not_a_state_is_one_error_line(document: Any, message: str) -> None:
    with pytest.raises(StateDiffError) as raised:
        diff_states(document, state())
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("password", True),
        ("master_password", True),
        ("secret_string", True),
        ("access_key", True),
        ("private_key_pem", True),
        ("auth_token", True),
        ("bucket", False),
        ("kms_key_id", False),
        ("role_arn", False),
    ],
)
def test_what_looks_sensitive(name: str, sensitive: bool) -> None:
    assert is_sensitive(name) is sensitive
