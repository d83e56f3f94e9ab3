variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "eu-west-1"
}

variable "buckets" {
  description = "The data buckets (bronze, silver, artifacts): versioned, SSE-S3, public access blocked."
  type        = list(string)
  default     = ["ohpen-bronze", "ohpen-silver", "ohpen-artifacts"]
}

variable "glue_jobs" {
  description = "The Spark ETL jobs (bronze to silver)."
  type        = list(string)
  default     = ["ohpen-transaction-etl-spark"]
}

variable "state_machines" {
  description = "The orchestration state machines."
  type        = list(string)
  default     = ["ohpen-etl-orchestration"]
}

variable "lambdas" {
  description = "The run-summary functions."
  type        = list(string)
  default     = ["ohpen-read-run-summary"]
}

variable "tables" {
  description = "The Glue Data Catalog tables (\"database.table\"), their files in the silver bucket."
  type        = list(string)
  default     = ["silver.transactions"]

  validation {
    condition     = alltrue([for t in var.tables : length(split(".", t)) == 2])
    error_message = "Each table is named \"database.table\"."
  }
}

variable "failure_topic" {
  description = "The SNS topic failures are published to."
  type        = string
  default     = "ohpen-etl-failures"
}

variable "alarms" {
  description = "CloudWatch alarms on the pipeline's failure metrics (namespace Ohpen/ETL)."
  type        = list(string)
  default     = ["ohpen-etl-glue-job-failed", "ohpen-etl-pipeline-failed", "ohpen-read-run-summary-errors"]
}

variable "revision" {
  description = "What this apply deploys (e.g. the commit); recorded as an output."
  type        = string
  default     = "unspecified"
}
