# Arguments the AWS provider does not have: the schema check must name each one.
resource "aws_kinesis_firehose_delivery_stream" "to_s3" {
  name        = "to-s3"
  destination = "extended_s3"

  extended_s3_configuration {
    role_arn    = "arn:aws:iam::123456789012:role/firehose"
    bucket_arn  = "arn:aws:s3:::bucket"
    buffer_size = 64 # provider 4's name; provider 5 and 6 call it buffering_size

    processing_configuration {
      enabled = true

      processors {
        type = "MetadataExtraction"

        # The block is `parameters`.
        parameter {
          parameter_name  = "JsonParsingEngine"
          parameter_value = "JQ-1.6"
        }
      }
    }
  }
}

resource "aws_kinesis_stream" "clicks" {
  name            = "clicks"
  retention_hours = 24
}

data "aws_iam_policy_document" "read" {
  statement {
    actions   = ["kinesis:GetRecords"]
    resources = ["arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"]

    principals {
      type       = "AWS"
      identifier = ["arn:aws:iam::123456789012:root"]
    }
  }
}

resource "aws_made_up_thing" "x" {}
