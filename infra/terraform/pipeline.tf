# The orchestration: run the Glue job, read the run summary, notify the failure topic on error.
resource "aws_iam_role" "pipeline" {
  for_each = toset(var.state_machines)
  name     = substr("${each.key}-role", 0, 64)
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = local.trust.states }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "pipeline" {
  for_each = aws_iam_role.pipeline
  name     = "${each.key}-least-privilege"
  role     = each.value.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["glue:StartJobRun", "glue:GetJobRun"], Resource = "arn:aws:glue:*:*:job/ohpen-*" },
      { Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "arn:aws:lambda:*:*:function:ohpen-*" },
      { Effect = "Allow", Action = "sns:Publish", Resource = "arn:aws:sns:*:*:ohpen-*" },
    ]
  })
}

resource "aws_cloudwatch_log_group" "pipeline" {
  for_each = toset(var.state_machines)
  name     = "/aws/vendedlogs/states/${each.key}"
}

resource "aws_sfn_state_machine" "pipeline" {
  for_each = toset(var.state_machines)
  name     = each.key
  role_arn = aws_iam_role.pipeline[each.key].arn
  type     = "STANDARD"

  logging_configuration {
    level                  = "ERROR"
    include_execution_data = false
    log_destination        = "${aws_cloudwatch_log_group.pipeline[each.key].arn}:*"
  }

  definition = jsonencode({
    Comment = "Ohpen ETL: bronze to silver, then publish the run summary"
    StartAt = "RunTransactionEtl"
    States = {
      RunTransactionEtl = {
        Type     = "Task"
        Resource = "arn:aws:states:::glue:startJobRun"
        Parameters = {
          JobName = local.glue_job
          Arguments = {
            "--run_key.$"   = "$.run_key"
            "--s3_bucket.$" = "$.s3_bucket"
            "--s3_key.$"    = "$.s3_key"
          }
        }
        ResultPath = "$.glue"
        Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "NotifyFailure" }]
        Next       = "ReadRunSummary"
      }
      ReadRunSummary = {
        Type       = "Task"
        Resource   = "arn:aws:states:::lambda:invoke"
        Parameters = { FunctionName = local.summary, "Payload.$" = "$" }
        ResultPath = "$.summary"
        Catch      = [{ ErrorEquals = ["States.ALL"], ResultPath = "$.error", Next = "NotifyFailure" }]
        Next       = "Done"
      }
      NotifyFailure = {
        Type       = "Task"
        Resource   = "arn:aws:states:::sns:publish"
        Parameters = { TopicArn = aws_sns_topic.failures.arn, "Message.$" = "States.JsonToString($.error)" }
        Next       = "Failed"
      }
      Failed = { Type = "Fail", Error = "PipelineFailed", Cause = "see the failure topic" }
      Done   = { Type = "Succeed" }
    }
  })
}
