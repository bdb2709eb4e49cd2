# References to names the module does not declare, attributes resources do not have, and a
# function Terraform does not have.
variable "name_prefix" {
  type = string
}

locals {
  tags = {
    team = "data"
  }
}

data "aws_region" "current" {}

resource "aws_kms_key" "k" {
  enable_key_rotation = true
}

resource "aws_kinesis_stream" "s" {
  name       = "${var.prefix}-s"
  kms_key_id = aws_kms_key.other.arn
  tags       = merge(local.tagz, { policy = jsonencodee({}) })
}

output "region" {
  value = data.aws_region.current.name_typo
}

output "stream" {
  value = aws_kinesis_stream.s.stream_arn
}
