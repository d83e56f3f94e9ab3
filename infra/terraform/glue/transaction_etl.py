# Ohpen transaction ETL (bronze -> silver); the embedded account never runs it.
#
# Reads the bronze CSV (--input_path), keeps well-formed rows, and writes Parquet to the
# silver table's location (--output_path), partitioned by booking date. What it writes is
# the table's schema in catalog.tf: change one, change the other.
import sys

from awsglue.context import GlueContext
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

args = getResolvedOptions(sys.argv, ["input_path", "output_path"])
spark = GlueContext(SparkContext.getOrCreate()).spark_session

rows = spark.read.option("header", "true").csv(args["input_path"])
silver = rows.select(
    F.col("transaction_id").cast("string"),
    F.col("account_id").cast("string"),
    F.col("amount").cast(DecimalType(18, 2)),
    F.upper(F.col("currency")).cast("string").alias("currency"),
    F.to_timestamp("booked_at").alias("booked_at"),
).where(F.col("transaction_id").isNotNull() & F.col("amount").isNotNull())

(
    silver.withColumn("booking_date", F.date_format("booked_at", "yyyy-MM-dd"))
    .write.mode("append")
    .partitionBy("booking_date")
    .parquet(args["output_path"])
)
