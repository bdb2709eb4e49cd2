"""boto3 against kin's Firehose API: list and describe, PutRecord and PutRecordBatch into the
Direct PUT firehose, and the refusal of a put into a firehose that reads a stream."""

import botocore.exceptions

from common import REGION, check, client, event, expect

firehose = client("firehose")

names = firehose.list_delivery_streams()["DeliveryStreamNames"]
check(names == ["direct", "events_archive"], names)
direct = firehose.list_delivery_streams(DeliveryStreamType="DirectPut")["DeliveryStreamNames"]
check(direct == ["direct"], direct)
description = firehose.describe_delivery_stream(DeliveryStreamName="events_archive")["DeliveryStreamDescription"]
check(description["DeliveryStreamType"] == "KinesisStreamAsSource", description)
check(description["DeliveryStreamARN"] == f"arn:aws:firehose:{REGION}:000000000000:deliverystream/events_archive", description)
source = description["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"]
check(source == f"arn:aws:kinesis:{REGION}:000000000000:stream/events", source)
s3 = description["Destinations"][0]["ExtendedS3DestinationDescription"]
check(s3["BucketARN"] == "arn:aws:s3:::api-test-events" and s3["Prefix"] == "events/", s3)
check(s3["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 1}, s3["BufferingHints"])

single = event("fh-put", 0)
answer = firehose.put_record(DeliveryStreamName="direct", Record={"Data": single})
check(len(answer["RecordId"]) >= 32, answer)
batch = [event("fh-batch", i) for i in range(300)]
answer = firehose.put_record_batch(DeliveryStreamName="direct", Records=[{"Data": d} for d in batch])
check(answer["FailedPutCount"] == 0 and len(answer["RequestResponses"]) == 300, answer["FailedPutCount"])
check(all("RecordId" in r for r in answer["RequestResponses"]), "a record without RecordId")
expect("direct", [single] + batch)

try:
    firehose.put_record(DeliveryStreamName="events_archive", Record={"Data": b"x"})
    raise AssertionError("PutRecord into a KinesisStreamAsSource firehose succeeded")
except botocore.exceptions.ClientError as e:
    error = e.response["Error"]
    check(error["Code"] == "InvalidArgumentException", error)
    check("KinesisStreamAsSource" in error["Message"], error)
try:
    firehose.describe_delivery_stream(DeliveryStreamName="nope")
    raise AssertionError("a missing delivery stream was described")
except firehose.exceptions.ResourceNotFoundException:
    pass
print("firehose_boto3: ok")
