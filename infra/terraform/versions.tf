# The Ohpen data lake's stack. State lives in the versioned S3 bucket the backend names
# (-backend-config: bucket, key, region, dynamodb_table); that bucket and the lock table
# are the backend's, created outside this code.
terraform {
  required_version = ">= 1.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  backend "s3" {}
}

provider "aws" {
  region = var.region
}
