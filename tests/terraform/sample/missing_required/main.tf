# Required arguments left out: the schema check must name each one.
resource "aws_iam_role" "r" {
  name = "r"
}

resource "aws_s3_bucket_versioning" "v" {
  bucket = "b"
}

resource "aws_kinesisanalyticsv2_application" "app" {
  name                   = "app"
  service_execution_role = aws_iam_role.r.arn

  application_configuration {
    environment_properties {
      property_group {
        property_group_id = "kinesis.analytics.flink.run.options"
        property_map = {
          python = "main.py"
        }
      }
    }
  }
}

output "arn" {
  description = "An output without a value."
}
