# A nested block written as an attribute and an attribute written as a block.
resource "aws_kinesis_stream" "s" {
  name = "s"
  stream_mode_details = {
    stream_mode = "ON_DEMAND"
  }

  tags {
    team = "data"
  }
}
