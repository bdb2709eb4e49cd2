"""boto3 against kin's Kinesis API: describe and list, PutRecord and PutRecords, every shard
iterator type with GetRecords, a partly throttled PutRecords (--enforce-limits), read quotas,
and AWS's errors."""

import time

import botocore.exceptions

from common import NO_RETRY, REGION, check, client, event, expect, read_shard

kinesis = client("kinesis")

# Describe and list.
names = kinesis.list_streams()["StreamNames"]
check(names == ["events", "throttled"], f"ListStreams: {names}")
description = kinesis.describe_stream(StreamName="events")["StreamDescription"]
check(description["StreamStatus"] == "ACTIVE", description)
check(description["StreamARN"] == f"arn:aws:kinesis:{REGION}:000000000000:stream/events", description)
shards = [s["ShardId"] for s in description["Shards"]]
check(shards == ["shardId-000000000000", "shardId-000000000001"], shards)
check(description["Shards"][1]["HashKeyRange"]["StartingHashKey"] == str(2**127), description)
summary = kinesis.describe_stream_summary(StreamARN=description["StreamARN"])
check(summary["StreamDescriptionSummary"]["OpenShardCount"] == 2, summary)
page = kinesis.list_shards(StreamName="events", MaxResults=1)
check(len(page["Shards"]) == 1 and "NextToken" in page, page)
rest = kinesis.list_shards(NextToken=page["NextToken"])
check([s["ShardId"] for s in rest["Shards"]] == ["shardId-000000000001"], rest)

# PutRecord, one at a time, and PutRecords.
started = time.time()
singles = [event("boto-put", i) for i in range(10)]
put = [kinesis.put_record(StreamName="events", Data=d, PartitionKey=f"user-{i % 7}") for i, d in enumerate(singles)]
batch = [event("boto-batch", i) for i in range(40)]
answer = kinesis.put_records(
    StreamName="events", Records=[{"Data": d, "PartitionKey": f"k{i}"} for i, d in enumerate(batch)]
)
check(answer["FailedRecordCount"] == 0, answer)
check(all("SequenceNumber" in r and r["ShardId"] in shards for r in answer["Records"]), answer)
pinned = event("boto-ehk", 0)
last = kinesis.put_record(StreamARN=description["StreamARN"], Data=pinned, PartitionKey="any", ExplicitHashKey=str(2**128 - 1))
check(last["ShardId"] == "shardId-000000000001", last)
expect("events", singles + batch + [pinned])

# Every iterator type.
everything = {}
for shard in shards:
    for record in read_shard(kinesis, "events", shard):
        everything[record["Data"]] = (shard, record)
for data in singles + batch + [pinned]:
    check(data in everything, f"TRIM_HORIZON did not return {data!r}")
shard, first = put[0]["ShardId"], put[0]["SequenceNumber"]
same_shard = [p["SequenceNumber"] for p in put if p["ShardId"] == shard]
at = read_shard(kinesis, "events", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=first)
check(at[0]["SequenceNumber"] == first and at[0]["Data"] == singles[0], at[:1])
check(at[0]["PartitionKey"] == "user-0", at[0])
check(abs(at[0]["ApproximateArrivalTimestamp"].timestamp() - started) < 60, at[0])
after = read_shard(kinesis, "events", shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=first)
check(after[0]["SequenceNumber"] == (same_shard[1] if len(same_shard) > 1 else after[0]["SequenceNumber"]), after[:1])
check(all(r["SequenceNumber"] != first for r in after), "AFTER_SEQUENCE_NUMBER returned the record itself")
stamped = read_shard(kinesis, "events", shard, "AT_TIMESTAMP", Timestamp=started - 1)
check(singles[0] in [r["Data"] for r in stamped], "AT_TIMESTAMP missed a record")
later = read_shard(kinesis, "events", shard, "AT_TIMESTAMP", Timestamp=time.time() + 3600)
check(later == [], later)
latest = kinesis.get_shard_iterator(StreamName="events", ShardId="shardId-000000000001", ShardIteratorType="LATEST")["ShardIterator"]
check(kinesis.get_records(ShardIterator=latest)["Records"] == [], "LATEST returned old records")
newest = event("boto-latest", 0)
kinesis.put_record(StreamName="events", Data=newest, PartitionKey="x", ExplicitHashKey=str(2**127))
got = kinesis.get_records(ShardIterator=latest)["Records"]
check([r["Data"] for r in got] == [newest], got)
expect("events", [newest])

# --enforce-limits: five 300 KiB records to one shard exceed 1 MiB/s; the refused ones are
# reported per record, then succeed when retried a second later.
big = [event("big", i, user="hot") + b" " * (300 * 1024) for i in range(5)]
answer = kinesis.put_records(StreamName="throttled", Records=[{"Data": d, "PartitionKey": "hot"} for d in big])
failed = [i for i, r in enumerate(answer["Records"]) if "ErrorCode" in r]
check(answer["FailedRecordCount"] == len(failed) and 0 < len(failed) < 5, answer["FailedRecordCount"])
for i in failed:
    check(answer["Records"][i]["ErrorCode"] == "ProvisionedThroughputExceededException", answer["Records"][i])
    check("SequenceNumber" not in answer["Records"][i], answer["Records"][i])
pending = [big[i] for i in failed]
for _ in range(20):
    if not pending:
        break
    time.sleep(1.1)
    retry = kinesis.put_records(StreamName="throttled", Records=[{"Data": d, "PartitionKey": "hot"} for d in pending])
    pending = [pending[i] for i, r in enumerate(retry["Records"]) if "ErrorCode" in r]
check(not pending, f"{len(pending)} records still throttled")
stored = read_shard(kinesis, "throttled", "shardId-000000000000", want=5)
check(sorted(r["Data"] for r in stored) == sorted(big), "the throttled stream lost or duplicated records")

# Read quota: 5 GetRecords per second per shard.
strict = client("kinesis", config=NO_RETRY)
iterator = strict.get_shard_iterator(StreamName="throttled", ShardId="shardId-000000000000", ShardIteratorType="LATEST")["ShardIterator"]
refused = 0
for _ in range(8):
    try:
        iterator = strict.get_records(ShardIterator=iterator)["NextShardIterator"]
    except strict.exceptions.ProvisionedThroughputExceededException:
        refused += 1
check(refused > 0, "8 GetRecords in a row on one shard were all allowed")

# Errors.
def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} {kwargs} succeeded")


check(error_code(strict.describe_stream, StreamName="nope") == ("ResourceNotFoundException", 400), "missing stream")
check(error_code(strict.create_stream, StreamName="new", ShardCount=1)[0] == "AccessDeniedException", "CreateStream")
check(error_code(strict.create_stream, StreamName="events", ShardCount=1)[0] == "ResourceInUseException", "CreateStream")
check(error_code(strict.get_records, ShardIterator="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")[0] == "InvalidArgumentException", "iterator")
check(error_code(strict.get_shard_iterator, StreamName="events", ShardId="shardId-000000000009", ShardIteratorType="LATEST")[0] == "ResourceNotFoundException", "shard")
check(error_code(strict.put_record, StreamName="events", Data=b"x" * (1024 * 1024), PartitionKey="k")[0] == "ValidationException", "size")
print("kinesis_boto3: ok")
