resource "aws_kinesis_firehose_delivery_stream" "clicks_to_s3" {
  name        = "${var.name_prefix}-clicks-to-s3"
  destination = "extended_s3"

  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.clicks.arn
    role_arn           = aws_iam_role.clicks_to_s3.arn
  }

  extended_s3_configuration {
    role_arn            = aws_iam_role.clicks_to_s3.arn
    bucket_arn          = aws_s3_bucket.data.arn
    kms_key_arn         = aws_kms_key.pipeline.arn
    prefix              = "clicks/page=!{partitionKeyFromQuery:page}/"
    error_output_prefix = "errors/clicks/!{firehose:error-output-type}/"
    buffering_size      = 64
    buffering_interval  = 60
    compression_format  = "GZIP"

    dynamic_partitioning_configuration {
      enabled = true
    }

    processing_configuration {
      enabled = true

      processors {
        type = "MetadataExtraction"

        parameters {
          parameter_name  = "MetadataExtractionQuery"
          parameter_value = "{page: .page}"
        }

        parameters {
          parameter_name  = "JsonParsingEngine"
          parameter_value = "JQ-1.6"
        }
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.clicks_to_s3.name
    }
  }
}

resource "aws_cloudwatch_log_group" "firehose" {
  name              = "${local.log_group}/firehose"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.pipeline.arn
}

resource "aws_cloudwatch_log_stream" "clicks_to_s3" {
  name           = "clicks_to_s3"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

resource "aws_iam_role" "clicks_to_s3" {
  name               = "${var.name_prefix}-clicks-to-s3"
  assume_role_policy = data.aws_iam_policy_document.firehose_trust.json
}

data "aws_iam_policy_document" "firehose_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role_policy" "clicks_to_s3" {
  name   = "delivery"
  role   = aws_iam_role.clicks_to_s3.id
  policy = data.aws_iam_policy_document.clicks_to_s3.json
}

data "aws_iam_policy_document" "clicks_to_s3" {
  statement {
    sid       = "ReadSourceStream"
    actions   = ["kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"]
    resources = [aws_kinesis_stream.clicks.arn]
  }

  statement {
    sid = "WriteBucket"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [aws_s3_bucket.data.arn, "${aws_s3_bucket.data.arn}/*"]
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }

  statement {
    sid       = "LogErrors"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:log-stream:${aws_cloudwatch_log_stream.clicks_to_s3.name}"]
  }
}
