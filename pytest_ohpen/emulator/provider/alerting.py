"""Alerting: the failure topic, the on-call queue subscribed to it, and the alarms."""

from __future__ import annotations

from typing import Any

from tf.schema import Schema
from tf.types import Bool, List, Number, String

from pytest_ohpen.emulator.provider.base import AwsResource, State, attr, aws_code


class Topic(AwsResource):
    type_name = "aws_sns_topic"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        arn = self.aws("sns").create_topic(Name=planned["name"])["TopicArn"]
        return {**planned, "arn": arn, "id": arn}

    def look(self, current: State) -> State | None:
        arn = current.get("arn") or current["id"]
        try:
            self.aws("sns").get_topic_attributes(TopicArn=arn)
        except Exception as error:
            if aws_code(error) == "NotFound":
                return None
            raise
        return {"name": arn.rsplit(":", 1)[-1], "arn": arn, "id": arn}

    def remove(self, current: State) -> None:
        self.aws("sns").delete_topic(TopicArn=current["arn"])


class Queue(AwsResource):
    type_name = "aws_sqs_queue"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("arn", computed=True),
            attr("url", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        url = self.aws("sqs").create_queue(QueueName=planned["name"])["QueueUrl"]
        found = self.look({**planned, "id": url})
        assert found is not None
        return found

    def look(self, current: State) -> State | None:
        sqs = self.aws("sqs")
        try:
            url = sqs.get_queue_url(QueueName=current["name"])["QueueUrl"]
        except Exception as error:
            if aws_code(error) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                return None
            raise
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return {"name": current["name"], "arn": arn, "url": url, "id": url}

    def remove(self, current: State) -> None:
        self.aws("sqs").delete_queue(QueueUrl=current["url"])


class Subscription(AwsResource):
    type_name = "aws_sns_topic_subscription"
    name_key = "endpoint"
    schema = Schema(
        attributes=[
            attr("topic_arn", required=True, requires_replace=True),
            attr("protocol", required=True, requires_replace=True),
            attr("endpoint", required=True, requires_replace=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        arn = self.aws("sns").subscribe(
            TopicArn=planned["topic_arn"],
            Protocol=planned["protocol"],
            Endpoint=planned["endpoint"],
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return {**planned, "arn": arn, "id": arn}

    def look(self, current: State) -> State | None:
        try:
            listed = self.aws("sns").list_subscriptions_by_topic(TopicArn=current["topic_arn"])
        except Exception as error:
            if aws_code(error) == "NotFound":
                return None
            raise
        found = next(
            (s for s in listed.get("Subscriptions", []) if s["SubscriptionArn"] == current["arn"]),
            None,
        )
        if found is None:
            return None
        return {**current, "protocol": found["Protocol"], "endpoint": found["Endpoint"]}

    def remove(self, current: State) -> None:
        self.aws("sns").unsubscribe(SubscriptionArn=current["arn"])


_ALARM: dict[str, tuple[str, Any]] = {
    "namespace": ("Namespace", String()),
    "metric_name": ("MetricName", String()),
    "statistic": ("Statistic", String()),
    "period": ("Period", Number()),
    "evaluation_periods": ("EvaluationPeriods", Number()),
    "threshold": ("Threshold", Number()),
    "comparison_operator": ("ComparisonOperator", String()),
}


class MetricAlarm(AwsResource):
    type_name = "aws_cloudwatch_metric_alarm"
    name_key = "alarm_name"
    schema = Schema(
        attributes=[
            attr("alarm_name", required=True, requires_replace=True),
            *(attr(name, kind, required=True) for name, (_, kind) in _ALARM.items()),
            attr("actions_enabled", Bool(), optional=True, computed=True),
            attr("alarm_actions", List(String()), optional=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def make(self, planned: State) -> State:
        enabled = planned.get("actions_enabled")
        self.aws("cloudwatch").put_metric_alarm(
            AlarmName=planned["alarm_name"],
            **{key: planned[name] for name, (key, _) in _ALARM.items()},
            ActionsEnabled=True if enabled is None or not isinstance(enabled, bool) else enabled,
            AlarmActions=list(planned.get("alarm_actions") or []),
        )
        found = self.look(planned)
        assert found is not None
        return found

    def change(self, current: State, planned: State) -> State:
        return self.make(planned)

    def look(self, current: State) -> State | None:
        name = current.get("alarm_name") or current["id"]
        alarms = self.aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not alarms:
            return None
        alarm = alarms[0]
        live = {name_: alarm.get(key) for name_, (key, _) in _ALARM.items()}
        recorded_actions = current.get("alarm_actions")
        actions = list(alarm.get("AlarmActions") or [])
        return {
            "alarm_name": name,
            **live,
            "actions_enabled": alarm.get("ActionsEnabled"),
            "alarm_actions": None if not actions and recorded_actions is None else actions,
            "arn": alarm["AlarmArn"],
            "id": name,
        }

    def remove(self, current: State) -> None:
        self.aws("cloudwatch").delete_alarms(AlarmNames=[current["alarm_name"]])


RESOURCES = (Topic, Queue, Subscription, MetricAlarm)
