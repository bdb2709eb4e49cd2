"""The AWS CLI against kin's API: put-record, get-shard-iterator and get-records on a stream,
put-record on the Direct PUT firehose."""

import base64
import json
import os
import subprocess
import sys

from common import ENDPOINT, check, event, expect

AWS = os.path.join(os.path.dirname(sys.executable), "aws")


def aws(*args):
    result = subprocess.run([AWS, *args, "--endpoint-url", ENDPOINT, "--output", "json"],
                            capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"aws {' '.join(args)} failed: {result.stderr}")
    return json.loads(result.stdout) if result.stdout.strip() else {}


record = event("cli", 0)
# The AWS CLI from PyPI is v1: a blob argument's text is the data (v2 would expect base64).
put = aws("kinesis", "put-record", "--stream-name", "events", "--partition-key", "cli-user",
          "--data", record.decode())
check(put["ShardId"].startswith("shardId-"), put)
expect("events", [record])
iterator = aws("kinesis", "get-shard-iterator", "--stream-name", "events", "--shard-id", put["ShardId"],
               "--shard-iterator-type", "AT_SEQUENCE_NUMBER", "--starting-sequence-number",
               put["SequenceNumber"])["ShardIterator"]
got = aws("kinesis", "get-records", "--shard-iterator", iterator, "--limit", "1")
first = got["Records"][0]
check(base64.b64decode(first["Data"]) == record, first)
check(first["PartitionKey"] == "cli-user" and first["SequenceNumber"] == put["SequenceNumber"], first)
check("NextShardIterator" in got and "MillisBehindLatest" in got, got)
described = aws("kinesis", "describe-stream", "--stream-name", "events")
check(len(described["StreamDescription"]["Shards"]) == 2, described)

direct = event("cli-fh", 0)
answer = aws("firehose", "put-record", "--delivery-stream-name", "direct",
             "--record", json.dumps({"Data": direct.decode()}))
check("RecordId" in answer, answer)
expect("direct", [direct])
print("aws_cli: ok")
