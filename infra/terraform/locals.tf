locals {
  # The buckets by their part in the pipeline, found by name as the playbook names them.
  bronze_name = try([for b in var.buckets : b if length(regexall("bronze", b)) > 0][0], "ohpen-bronze")
  silver_name = try([for b in var.buckets : b if length(regexall("silver", b)) > 0][0], "ohpen-silver")
  artifacts   = try([for b in var.buckets : b if length(regexall("artifacts", b)) > 0][0], "ohpen-artifacts")

  glue_job = try(var.glue_jobs[0], "ohpen-transaction-etl-spark")
  summary  = try(var.lambdas[0], "ohpen-read-run-summary")

  trust = {
    glue   = "glue.amazonaws.com"
    states = "states.amazonaws.com"
    lambda = "lambda.amazonaws.com"
  }
}
