resource "aws_kinesis_stream" "clicks" {
  name             = "${var.name_prefix}-clicks"
  retention_period = 24
  encryption_type  = "KMS"
  kms_key_id       = aws_kms_key.pipeline.arn

  stream_mode_details {
    stream_mode = "ON_DEMAND"
  }

  tags = {
    "kin:node" = "clicks"
  }
}

# What a producer of `clicks` may do: put records, with the key.
resource "aws_iam_policy" "web_producer" {
  name        = "${var.name_prefix}-web-producer"
  description = "Lets the producer web write to ${aws_kinesis_stream.clicks.name}."
  policy      = data.aws_iam_policy_document.web_producer.json
}

data "aws_iam_policy_document" "web_producer" {
  statement {
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords"]
    resources = [aws_kinesis_stream.clicks.arn]
  }

  statement {
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }
}
