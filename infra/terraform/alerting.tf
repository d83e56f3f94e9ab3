# Failures go to the SNS topic; on-call reads them from a queue subscribed to it.
resource "aws_sns_topic" "failures" {
  name = var.failure_topic
}

resource "aws_sqs_queue" "oncall" {
  name = "${var.failure_topic}-oncall"
}

resource "aws_sns_topic_subscription" "oncall" {
  topic_arn = aws_sns_topic.failures.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.oncall.arn
}

resource "aws_cloudwatch_metric_alarm" "pipeline" {
  for_each            = toset(var.alarms)
  alarm_name          = each.key
  namespace           = "Ohpen/ETL"
  metric_name         = each.key
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  actions_enabled     = true
  alarm_actions       = [aws_sns_topic.failures.arn]
}
