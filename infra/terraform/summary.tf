# The run-summary Lambda and its role.
resource "aws_iam_role" "summary" {
  for_each = toset(var.lambdas)
  name     = substr("${each.key}-role", 0, 64)
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = local.trust.lambda }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "summary" {
  for_each = aws_iam_role.summary
  name     = "${each.key}-least-privilege"
  role     = each.value.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "arn:aws:logs:*:*:log-group:/aws/lambda/ohpen-*"
      },
      {
        Effect   = "Allow"
        Action   = "s3:GetObject"
        Resource = "arn:aws:s3:::${local.silver_name}/*"
      },
    ]
  })
}

resource "aws_lambda_function" "summary" {
  for_each         = toset(var.lambdas)
  function_name    = each.key
  role             = aws_iam_role.summary[each.key].arn
  runtime          = "python3.12"
  handler          = "handler.handler"
  memory_size      = 256
  timeout          = 30
  filename         = "${path.module}/lambda/read_run_summary.zip"
  source_code_hash = filebase64sha256("${path.module}/lambda/read_run_summary.zip")
}

# Only the pipeline may invoke it.
resource "aws_lambda_permission" "from_pipeline" {
  for_each      = { for pair in setproduct(var.lambdas, var.state_machines) : "${pair[0]}/${pair[1]}" => pair }
  statement_id  = "invoke-from-${each.value[1]}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.summary[each.value[0]].function_name
  principal     = "states.amazonaws.com"
  source_arn    = aws_sfn_state_machine.pipeline[each.value[1]].arn
}
