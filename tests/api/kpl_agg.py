"""KPL-aggregated records (made by the aws-kinesis-agg package, the KPL's format) put with
boto3: kin de-aggregates them on the way in, so GetRecords returns the user records, each with
its own partition key, all on the shard of the aggregate's key; the firehose reading the
stream delivers them one by one. A record with a damaged checksum is kept as it came."""

import hashlib

from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import deaggregate_records

from common import check, client, event, expect, read_shard

kinesis = client("kinesis")

aggregator = RecordAggregator()
users = []
for i in range(60):
    data = event("kpl", i, user=f"kpl-user-{i % 9}")
    hash_key = str(int(hashlib.md5(b"%d" % i).hexdigest(), 16)) if i % 5 == 0 else None
    aggregator.add_user_record(f"kpl-user-{i % 9}", data, explicit_hash_key=hash_key)
    users.append((f"kpl-user-{i % 9}", data))
aggregate = aggregator.clear_and_get()
key, hash_key, blob = aggregate.get_contents()
check(blob[:4] == b"\xf3\x89\x9a\xc2", "aws-kinesis-agg made no aggregate")
args = {"ExplicitHashKey": hash_key} if hash_key else {}
answer = kinesis.put_record(StreamName="events", Data=blob, PartitionKey=key, **args)
expect("events", [data for _, data in users])

records = read_shard(kinesis, "events", answer["ShardId"], "AT_SEQUENCE_NUMBER",
                     StartingSequenceNumber=answer["SequenceNumber"], want=60)[:60]
check([(r["PartitionKey"], r["Data"]) for r in records] == users,
      "the user records did not come back in order with their keys")
# The KCL's de-aggregator sees ordinary records now and passes them through.
as_lambda = [{"kinesis": {"data": __import__("base64").b64encode(r["Data"]).decode(),
                          "partitionKey": r["PartitionKey"], "sequenceNumber": r["SequenceNumber"]}}
             for r in records]
check(len(deaggregate_records(as_lambda)) == 60, "deaggregate_records changed the records")

damaged = blob[:-1] + bytes([blob[-1] ^ 0xFF])
answer = kinesis.put_records(StreamName="throttled", Records=[{"Data": damaged, "PartitionKey": "raw"}])
check(answer["FailedRecordCount"] == 0, answer)
stored = read_shard(kinesis, "throttled", "shardId-000000000000", "AT_SEQUENCE_NUMBER",
                    StartingSequenceNumber=answer["Records"][0]["SequenceNumber"], want=1)
check(stored[0]["Data"] == damaged, "a damaged aggregate was not kept as it came")
print("kpl_agg: ok")
