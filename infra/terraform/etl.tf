# The Spark ETL job, its script in the artifacts bucket, and the role it runs as.
resource "aws_s3_object" "glue_script" {
  for_each = { for job in var.glue_jobs : job => job if contains(var.buckets, local.artifacts) }
  bucket   = aws_s3_bucket.data[local.artifacts].bucket
  key      = "glue/${each.key}/main.py"
  source   = "${path.module}/glue/transaction_etl.py"
  etag     = filemd5("${path.module}/glue/transaction_etl.py")

  depends_on = [aws_s3_bucket_versioning.data] # the script is a versioned object
}

resource "aws_iam_role" "glue" {
  for_each = toset(var.glue_jobs)
  name     = substr("${each.key}-role", 0, 64)
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = local.trust.glue }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy" "glue" {
  for_each = aws_iam_role.glue
  name     = "${each.key}-least-privilege"
  role     = each.value.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:ListBucket"]
        Resource = ["arn:aws:s3:::${local.bronze_name}", "arn:aws:s3:::${local.bronze_name}/*", "arn:aws:s3:::${local.artifacts}/*"]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = "arn:aws:s3:::${local.silver_name}/*"
      },
    ]
  })
}

resource "aws_glue_job" "etl" {
  for_each          = toset(var.glue_jobs)
  name              = each.key
  role_arn          = aws_iam_role.glue[each.key].arn
  glue_version      = "4.0"
  worker_type       = "G.1X"
  number_of_workers = 2
  timeout           = 60

  # Where the job reads and writes (the IAM checks hold its role's policy to these).
  default_arguments = {
    "--input_path"  = "s3://${local.bronze_name}/transactions/"
    "--output_path" = "s3://${local.silver_name}/transactions/"
  }

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${local.artifacts}/glue/${each.key}/main.py"
  }
}
