# The Flink SQL runs in a small PyFlink program, zipped and uploaded beside the data.
data "archive_file" "page_counts" {
  type        = "zip"
  source_dir  = "${path.module}/flink/page_counts"
  output_path = "${path.module}/build/page_counts.zip"
}

resource "aws_s3_object" "page_counts_code" {
  bucket      = aws_s3_bucket.data.id
  key         = "kin/code/page_counts-${data.archive_file.page_counts.output_md5}.zip"
  source      = data.archive_file.page_counts.output_path
  source_hash = data.archive_file.page_counts.output_base64sha256
  kms_key_id  = aws_kms_key.pipeline.arn
}

resource "aws_kinesisanalyticsv2_application" "page_counts" {
  name                   = "${var.name_prefix}-page-counts"
  runtime_environment    = "FLINK-1_20"
  service_execution_role = aws_iam_role.page_counts.arn
  start_application      = true

  application_configuration {
    application_code_configuration {
      code_content_type = "ZIPFILE"

      code_content {
        s3_content_location {
          bucket_arn = aws_s3_bucket.data.arn
          file_key   = aws_s3_object.page_counts_code.key
        }
      }
    }

    environment_properties {
      property_group {
        property_group_id = "kinesis.analytics.flink.run.options"
        property_map = {
          python = "main.py"
        }
      }
    }

    flink_application_configuration {
      checkpoint_configuration {
        configuration_type = "DEFAULT"
      }

      monitoring_configuration {
        configuration_type = "CUSTOM"
        log_level          = "INFO"
        metrics_level      = "APPLICATION"
      }

      parallelism_configuration {
        configuration_type   = "CUSTOM"
        auto_scaling_enabled = false
        parallelism          = 1
        parallelism_per_kpu  = 1
      }
    }

    application_snapshot_configuration {
      snapshots_enabled = true
    }
  }

  cloudwatch_logging_options {
    log_stream_arn = aws_cloudwatch_log_stream.page_counts.arn
  }
}

resource "aws_cloudwatch_log_group" "flink" {
  name              = "${local.log_group}/flink"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.pipeline.arn
}

resource "aws_cloudwatch_log_stream" "page_counts" {
  name           = "page_counts"
  log_group_name = aws_cloudwatch_log_group.flink.name
}

resource "aws_iam_role" "page_counts" {
  name               = "${var.name_prefix}-page-counts"
  assume_role_policy = data.aws_iam_policy_document.flink_trust.json
}

data "aws_iam_policy_document" "flink_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["kinesisanalytics.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role_policy" "page_counts" {
  name   = "application"
  role   = aws_iam_role.page_counts.id
  policy = data.aws_iam_policy_document.page_counts.json
}

data "aws_iam_policy_document" "page_counts" {
  statement {
    sid       = "ReadCode"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.data.arn}/${aws_s3_object.page_counts_code.key}"]
  }

  statement {
    sid       = "ReadClicks"
    actions   = ["kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"]
    resources = [aws_kinesis_stream.clicks.arn]
  }

  statement {
    sid       = "UseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }

  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*"]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.flink.arn}:log-stream:*"]
  }
}
