"""A Terraform state body is parsed strictly: each defect is named in one line.

Hand-made bodies, no AWS: a report says why a state version cannot be a rollback target.
"""

from __future__ import annotations

import json

import pytest

from pytest_ohpen.terraform.state_versions import StateParseError, parse_state


def test_parse_state_summarises_a_terraform_state() -> None:
    """A Terraform 1.5 state: format 4, Terraform version, serial, lineage, resources."""
    resources = [
        {"mode": "managed", "type": kind, "name": name, "instances": []}
        for kind, name in [
            ("aws_s3_bucket", "bronze"),
            ("aws_s3_bucket", "artifacts"),
            ("aws_glue_job", "etl"),
            ("aws_sfn_state_machine", "pipeline"),
            ("aws_lambda_function", "summary"),
        ]
    ]
    state = {
        "version": 4,
        "terraform_version": "1.5.0",
        "serial": 2,
        "lineage": "6f1c2a4e-0b7d-4c39-9a55-3e2d8f0c1b7a",
        "outputs": {},
        "resources": resources,
    }

    summary = parse_state(json.dumps(state).encode())

    assert summary.format_version == 4
    assert summary.terraform_version == "1.5.0"
    assert summary.serial == 2
    assert summary.lineage == "6f1c2a4e-0b7d-4c39-9a55-3e2d8f0c1b7a"
    assert summary.resource_count == 5


def _state(**changes: object) -> bytes:
    state: dict[str, object] = {
        "version": 4,
        "terraform_version": "1.5.0",
        "serial": 7,
        "lineage": "abc",
        "outputs": {},
        "resources": [],
    }
    for name, value in changes.items():
        if value is None:
            del state[name]
        else:
            state[name] = value
    return json.dumps(state).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b" \n\t", "empty body"),
        (b'{"version": 4,', "not JSON: Expecting property name enclosed in double quotes"),
        (b"\xff\xfe\xfa", "not JSON: "),
        (b"[4]", "not a JSON object (a list)"),
        (_state(version=None), "missing 'version'"),
        (_state(version="4"), "'version' is not an integer"),
        (_state(version=3), "state format version 3 is not supported (expected 4)"),
        (_state(terraform_version=None), "missing 'terraform_version'"),
        (_state(terraform_version=1.5), "'terraform_version' is not a string"),
        (_state(serial=None), "missing 'serial'"),
        (_state(serial="7"), "'serial' is not an integer"),
        (_state(serial=True), "'serial' is not an integer"),
        (_state(serial=7.0), "'serial' is not an integer"),
        (_state(lineage=None), "missing 'lineage'"),
        (_state(lineage=""), "'lineage' is empty"),
        (_state(resources={}), "'resources' is not a list"),
    ],
)
def test_parse_state_says_what_is_wrong_in_one_line(body: bytes, message: str) -> None:
    """Each defect has its own message, so a report can say why a version is unusable."""
    with pytest.raises(StateParseError) as raised:
        parse_state(body)

    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_a_state_without_resources_counts_none() -> None:
    """A fresh state may omit "resources"; that is zero resources, not an error."""
    assert parse_state(_state(resources=None)).resource_count == 0
