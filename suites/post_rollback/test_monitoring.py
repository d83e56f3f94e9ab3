"""Post-rollback, step 3: monitoring and alerting are operational."""

from __future__ import annotations

import pytest

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import Where
from pytest_ohpen.checks.monitoring import (
    check_alarm_operational,
    check_topic_subscribed,
    topic_arn,
)
from pytest_ohpen.config.environments import Environment


def _failure_topic(env: Environment, where: Where) -> str:
    if not env.resources.failure_topic:
        pytest.skip(f"no [{env.name}.resources] failure_topic configured")
    return topic_arn(env.resources.failure_topic, where)


def test_alarm_operational(
    ohpen_alarm: str, ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """The alarm exists, its actions are on, one targets the failure topic, it is not in ALARM."""
    check_alarm_operational(
        ohpen_aws.client("cloudwatch"),
        ohpen_alarm,
        _failure_topic(ohpen_env, ohpen_where),
        ohpen_where,
    )


def test_failure_topic_subscribed(
    ohpen_env: Environment, ohpen_aws: AwsClients, ohpen_where: Where
) -> None:
    """The failure topic exists and someone has confirmed a subscription to it."""
    check_topic_subscribed(
        ohpen_aws.client("sns"), _failure_topic(ohpen_env, ohpen_where), ohpen_where
    )
