output "stream_arns" {
  description = "ARN of every Kinesis data stream."
  value = {
    clicks = aws_kinesis_stream.clicks.arn
  }
}

output "delivery_stream_arns" {
  description = "ARN of every Firehose delivery stream."
  value = {
    clicks_to_s3 = aws_kinesis_firehose_delivery_stream.clicks_to_s3.arn
  }
}

output "bucket_names" {
  description = "Name of every bucket kin creates."
  value = {
    data = aws_s3_bucket.data.bucket
    logs = aws_s3_bucket.logs.bucket
  }
}

output "producer_policy_arns" {
  description = "ARN of the IAM policy of every producer."
  value = {
    web = aws_iam_policy.web_producer.arn
  }
}

output "flink_application_arns" {
  description = "ARN of every Managed Service for Apache Flink application."
  value = {
    page_counts = aws_kinesisanalyticsv2_application.page_counts.arn
  }
}
