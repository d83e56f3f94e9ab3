"""Alarms notify the failure topic, and the topic reaches someone.

Alarms, topics and SQS subscriptions come from a real moto server. moto cannot show a
pending subscription (it confirms http/https ones at once) nor store composite alarms
(PutCompositeAlarm is not implemented), so those come from botocore's Stubber.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import accounts
import pytest
from accounts import FAILURE_TOPIC
from botocore.stub import Stubber
from conftest import moto_clients

from pytest_ohpen.aws.clients import AwsClients
from pytest_ohpen.checks import CheckFailed, Where
from pytest_ohpen.checks.monitoring import (
    check_alarm_operational,
    check_topic_subscribed,
    topic_arn,
)

WHERE = Where("123456789012", "eu-west-1")
IN_ACCOUNT = "in account 123456789012 eu-west-1"
TOPIC = topic_arn(FAILURE_TOPIC, WHERE)
ALARMS = (
    "ohpen-etl-glue-job-failed",
    "ohpen-etl-pipeline-failed",
    "ohpen-read-run-summary-errors",
)
ALARM = ALARMS[0]


def _clients(url: str) -> AwsClients:
    return moto_clients(url)


@pytest.fixture
def monitored(fresh_moto: str) -> AwsClients:
    """The playbook's failure topic with its SQS on-call queue subscribed, and its alarms."""
    topic = accounts.failure_topic(fresh_moto)
    for alarm in ALARMS:
        accounts.alarm(fresh_moto, alarm, topic)
    return _clients(fresh_moto)


@pytest.fixture
def empty(fresh_moto: str) -> AwsClients:
    """An account holding nothing."""
    return _clients(fresh_moto)


def _alarm(clients: AwsClients, name: str, **options: Any) -> None:
    clients.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="Ohpen/ETL",
        MetricName=name,
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        **options,
    )


# ---------------------------------------------------------------- alarms


@pytest.mark.parametrize("alarm", ALARMS)
def test_provisioned_alarms_are_operational(monitored: AwsClients, alarm: str) -> None:
    check_alarm_operational(monitored.client("cloudwatch"), alarm, TOPIC, WHERE)


def test_missing_alarm_fails(monitored: AwsClients) -> None:
    with pytest.raises(CheckFailed) as failure:
        check_alarm_operational(monitored.client("cloudwatch"), "ohpen-etl-nope", TOPIC, WHERE)
    assert str(failure.value) == f"alarm ohpen-etl-nope: not found {IN_ACCOUNT}"


def test_alarm_with_actions_disabled_fails(monitored: AwsClients) -> None:
    _alarm(monitored, ALARM, ActionsEnabled=False, AlarmActions=[TOPIC])
    with pytest.raises(CheckFailed) as failure:
        check_alarm_operational(monitored.client("cloudwatch"), ALARM, TOPIC, WHERE)
    assert str(failure.value) == f"alarm {ALARM}: actions disabled {IN_ACCOUNT}"


def test_alarm_notifying_another_topic_fails(monitored: AwsClients) -> None:
    other = topic_arn("ohpen-somewhere-else", WHERE)
    _alarm(monitored, ALARM, ActionsEnabled=True, AlarmActions=[other])
    with pytest.raises(CheckFailed) as failure:
        check_alarm_operational(monitored.client("cloudwatch"), ALARM, TOPIC, WHERE)
    assert str(failure.value) == (
        f"alarm {ALARM}: no action targets the failure topic {TOPIC} (actions: [{other}]) "
        f"{IN_ACCOUNT}"
    )


def test_alarm_without_actions_fails(monitored: AwsClients) -> None:
    _alarm(monitored, ALARM, ActionsEnabled=True, AlarmActions=[])
    with pytest.raises(
        CheckFailed, match=r"no action targets the failure topic .* \(actions: \[\]\)"
    ):
        check_alarm_operational(monitored.client("cloudwatch"), ALARM, TOPIC, WHERE)


def test_alarm_in_alarm_state_fails_with_when_and_why(monitored: AwsClients) -> None:
    monitored.client("cloudwatch").set_alarm_state(
        AlarmName=ALARM, StateValue="ALARM", StateReason="Threshold crossed:\n1 datapoint [3.0]"
    )
    with pytest.raises(CheckFailed) as failure:
        check_alarm_operational(monitored.client("cloudwatch"), ALARM, TOPIC, WHERE)
    message = str(failure.value)
    assert re.fullmatch(
        rf"alarm {ALARM}: in ALARM since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ: "
        rf"Threshold crossed: 1 datapoint \[3\.0\] {IN_ACCOUNT}",
        message,
    ), message


def test_alarm_back_to_ok_passes(monitored: AwsClients) -> None:
    cloudwatch = monitored.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="x")
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="recovered")
    check_alarm_operational(cloudwatch, ALARM, TOPIC, WHERE)


def _composite(state: str) -> dict[str, Any]:
    return {
        "MetricAlarms": [],
        "CompositeAlarms": [
            {
                "AlarmName": "ohpen-etl-any",
                "ActionsEnabled": True,
                "AlarmActions": [TOPIC],
                "AlarmRule": f'ALARM("{ALARM}")',
                "StateValue": state,
                "StateReason": "child in ALARM",
                "StateUpdatedTimestamp": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
            }
        ],
    }


def test_composite_alarms_are_checked_too(empty: AwsClients) -> None:
    cloudwatch = empty.client("cloudwatch")
    expected = {"AlarmNames": ["ohpen-etl-any"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    with Stubber(cloudwatch) as stubber:
        stubber.add_response("describe_alarms", _composite("OK"), expected)
        stubber.add_response("describe_alarms", _composite("ALARM"), expected)
        check_alarm_operational(cloudwatch, "ohpen-etl-any", TOPIC, WHERE)
        with pytest.raises(CheckFailed) as failure:
            check_alarm_operational(cloudwatch, "ohpen-etl-any", TOPIC, WHERE)
    assert str(failure.value) == (
        f"alarm ohpen-etl-any: in ALARM since 2026-03-01T09:00:00Z: child in ALARM {IN_ACCOUNT}"
    )


def test_alarm_access_denied_fails_in_one_line(empty: AwsClients) -> None:
    cloudwatch = empty.client("cloudwatch")
    with Stubber(cloudwatch) as stubber:
        stubber.add_client_error("describe_alarms", "AccessDenied", http_status_code=403)
        with pytest.raises(CheckFailed) as failure:
            check_alarm_operational(cloudwatch, ALARM, TOPIC, WHERE)
    assert str(failure.value) == f"alarm {ALARM}: access denied (AccessDenied) {IN_ACCOUNT}"


# ---------------------------------------------------------------- topic


def test_topic_with_a_confirmed_sqs_subscription_passes(monitored: AwsClients) -> None:
    check_topic_subscribed(monitored.client("sns"), TOPIC, WHERE)


def test_missing_topic_fails(empty: AwsClients) -> None:
    with pytest.raises(CheckFailed) as failure:
        check_topic_subscribed(empty.client("sns"), TOPIC, WHERE)
    assert str(failure.value) == f"topic {FAILURE_TOPIC}: not found (NotFound) {IN_ACCOUNT}"


def test_topic_without_subscriptions_fails(empty: AwsClients) -> None:
    empty.client("sns").create_topic(Name=FAILURE_TOPIC)
    with pytest.raises(CheckFailed) as failure:
        check_topic_subscribed(empty.client("sns"), TOPIC, WHERE)
    assert str(failure.value) == (
        f"topic {FAILURE_TOPIC}: no confirmed subscription (0 pending) {IN_ACCOUNT}"
    )


def test_moto_confirms_http_subscriptions_at_once(empty: AwsClients) -> None:
    # Why the pending case below is stubbed: moto never shows PendingConfirmation.
    sns = empty.client("sns")
    sns.create_topic(Name=FAILURE_TOPIC)
    sns.subscribe(TopicArn=TOPIC, Protocol="https", Endpoint="https://oncall.example/hook")
    listed = sns.list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]
    assert [s["SubscriptionArn"].startswith(f"{TOPIC}:") for s in listed] == [True]
    check_topic_subscribed(sns, TOPIC, WHERE)


def _subscription(arn: str, endpoint: str) -> dict[str, str]:
    return {
        "SubscriptionArn": arn,
        "Owner": WHERE.account_id,
        "Protocol": "https",
        "Endpoint": endpoint,
        "TopicArn": TOPIC,
    }


def test_topic_with_only_pending_subscriptions_fails(empty: AwsClients) -> None:
    sns = empty.client("sns")
    with Stubber(sns) as stubber:
        stubber.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC}})
        stubber.add_response(
            "list_subscriptions_by_topic",
            {
                "Subscriptions": [
                    _subscription("PendingConfirmation", "https://oncall.example/a"),
                    _subscription("Deleted", "https://oncall.example/b"),
                ],
                "NextToken": "page-2",
            },
            {"TopicArn": TOPIC},
        )
        stubber.add_response(
            "list_subscriptions_by_topic",
            {"Subscriptions": [_subscription("PendingConfirmation", "https://oncall.example/c")]},
            {"TopicArn": TOPIC, "NextToken": "page-2"},
        )
        with pytest.raises(CheckFailed) as failure:
            check_topic_subscribed(sns, TOPIC, WHERE)
    assert str(failure.value) == (
        f"topic {FAILURE_TOPIC}: no confirmed subscription (2 pending, 1 deleted) {IN_ACCOUNT}"
    )


def test_a_confirmed_subscription_on_a_later_page_passes(empty: AwsClients) -> None:
    sns = empty.client("sns")
    with Stubber(sns) as stubber:
        stubber.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC}})
        stubber.add_response(
            "list_subscriptions_by_topic",
            {
                "Subscriptions": [_subscription("PendingConfirmation", "https://a")],
                "NextToken": "page-2",
            },
        )
        stubber.add_response(
            "list_subscriptions_by_topic",
            {"Subscriptions": [_subscription(f"{TOPIC}:0b9f", "https://b")]},
        )
        check_topic_subscribed(sns, TOPIC, WHERE)
        stubber.assert_no_pending_responses()
