output "revision" {
  description = "What the last apply deployed."
  value       = var.revision
}

output "bucket_arns" {
  value = { for name, bucket in aws_s3_bucket.data : name => bucket.arn }
}

output "state_machine_arns" {
  value = { for name, machine in aws_sfn_state_machine.pipeline : name => machine.arn }
}

output "tables" {
  value = { for name, table in aws_glue_catalog_table.silver : name => table.arn }
}
