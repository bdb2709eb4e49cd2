# Valid against the provider's schema, but not secure: the stream is not encrypted, so checkov
# fails CKV_AWS_43 (encryption) and CKV_AWS_185 (customer-managed key).
resource "aws_kinesis_stream" "clicks" {
  name             = "sample-clicks"
  retention_period = 24

  stream_mode_details {
    stream_mode = "ON_DEMAND"
  }
}
