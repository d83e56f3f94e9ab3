# The Glue Data Catalog: one database per "database.table" name, and the tables Athena reads,
# their files in the silver bucket. The columns are what glue/transaction_etl.py writes.
locals {
  tables    = { for t in var.tables : t => { database = split(".", t)[0], name = split(".", t)[1] } }
  databases = toset([for t in values(local.tables) : t.database])

  silver_columns = [
    { name = "transaction_id", type = "string" },
    { name = "account_id", type = "string" },
    { name = "amount", type = "decimal(18,2)" },
    { name = "currency", type = "string" },
    { name = "booked_at", type = "timestamp" },
  ]
}

resource "aws_glue_catalog_database" "lake" {
  for_each = local.databases
  name     = each.key
}

resource "aws_glue_catalog_table" "silver" {
  for_each      = local.tables
  name          = each.value.name
  database_name = aws_glue_catalog_database.lake[each.value.database].name
  table_type    = "EXTERNAL_TABLE"
  parameters = {
    classification = "parquet"
  }

  partition_keys {
    name = "booking_date"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${local.silver_name}/${each.value.name}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    }

    dynamic "columns" {
      for_each = local.silver_columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}
