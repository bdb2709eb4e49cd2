# One customer-managed key for the pipeline: streams, buckets, logs.
resource "aws_kms_key" "pipeline" {
  description             = "${var.name_prefix}: Kinesis streams, S3 buckets and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "pipeline" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.pipeline.key_id
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:a key policy must let the account administer its own key (AWS's default key policy)
  #checkov:skip=CKV_AWS_111:a key policy must let the account administer its own key (AWS's default key policy)
  #checkov:skip=CKV_AWS_356:in a key policy "*" means this key
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsUsesTheKey"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.log_group}/*"]
    }
  }
}
