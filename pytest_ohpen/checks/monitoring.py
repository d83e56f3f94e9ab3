"""Monitoring and alerting: the playbook's post-rollback "verify monitoring/alerting operational".

An alarm only alerts when its actions are enabled and one of them is the failure topic,
and the topic only reaches someone through a confirmed subscription.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pytest_ohpen.checks.base import CheckFailed, Where, probing
from pytest_ohpen.checks.pipeline import one_line

SNS_NOT_FOUND = frozenset({"NotFound", "NotFoundException"})
UNCONFIRMED = frozenset({"PendingConfirmation", "Deleted"})
"""What SNS shows in place of a SubscriptionArn for subscriptions that deliver nothing."""


def topic_arn(name: str, where: Where) -> str:
    """The ARN of the standard SNS topic called ``name``."""
    return f"arn:aws:sns:{where.region}:{where.account_id}:{name}"


def check_alarm_operational(cloudwatch: Any, alarm: str, topic_arn: str, where: Where) -> None:
    """DescribeAlarms (metric and composite): it exists, its actions are enabled, one of
    them notifies ``topic_arn``, and it is not in ALARM now."""
    with probing("alarm", alarm, where, frozenset({"ResourceNotFound"})):
        found = cloudwatch.describe_alarms(
            AlarmNames=[alarm], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
    alarms = [*found.get("MetricAlarms", []), *found.get("CompositeAlarms", [])]
    if not alarms:
        raise CheckFailed(f"alarm {alarm}: not found {where}")
    described = alarms[0]
    if not described.get("ActionsEnabled", False):
        raise CheckFailed(f"alarm {alarm}: actions disabled {where}")
    actions = [str(a) for a in described.get("AlarmActions", [])]
    if topic_arn not in actions:
        raise CheckFailed(
            f"alarm {alarm}: no action targets the failure topic {topic_arn} "
            f"(actions: [{', '.join(actions)}]) {where}"
        )
    if described.get("StateValue") == "ALARM":
        since = _utc(described.get("StateUpdatedTimestamp"))
        reason = one_line(str(described.get("StateReason") or "no reason given"))
        raise CheckFailed(f"alarm {alarm}: in ALARM since {since}: {reason} {where}")


def check_topic_subscribed(sns: Any, topic_arn: str, where: Where) -> None:
    """GetTopicAttributes, then ListSubscriptionsByTopic: at least one subscription is
    confirmed, so a failure notification reaches someone."""
    name = topic_arn.rsplit(":", 1)[-1]
    with probing("topic", name, where, SNS_NOT_FOUND):
        sns.get_topic_attributes(TopicArn=topic_arn)
        unconfirmed: list[str] = []
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
            for subscription in page.get("Subscriptions", []):
                arn = str(subscription.get("SubscriptionArn"))
                if arn not in UNCONFIRMED:
                    return
                unconfirmed.append(arn)
    deleted = unconfirmed.count("Deleted")
    counts = f"{unconfirmed.count('PendingConfirmation')} pending"
    counts += f", {deleted} deleted" if deleted else ""
    raise CheckFailed(f"topic {name}: no confirmed subscription ({counts}) {where}")


def _utc(value: object) -> str:
    """An ISO 8601 UTC timestamp, or the value as given when it is not a datetime."""
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    return str(value) if value else "an unknown time"
