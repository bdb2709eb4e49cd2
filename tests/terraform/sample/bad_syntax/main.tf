# Not HCL: an attribute without a value.
resource "aws_kinesis_stream" "s" {
  name =
}
