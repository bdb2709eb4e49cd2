"""Shared by the client scripts tests/runtime_api.rs runs against `kin run --api`.

Environment (set by the test): KIN_API_ENDPOINT (http://127.0.0.1:PORT), KIN_API_OUT (a
directory for the records each script expects in the pipeline's outputs), AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION (the key the server was started with).
"""

import json
import os
import time

import boto3
from botocore.config import Config

ENDPOINT = os.environ["KIN_API_ENDPOINT"]
OUT = os.environ["KIN_API_OUT"]
REGION = os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")
# The standard retry mode retries ProvisionedThroughputExceededException with backoff.
RETRYING = Config(retries={"mode": "standard", "max_attempts": 10})
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def client(service, config=RETRYING, **kwargs):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, config=config, **kwargs)


def event(prefix, i, user=None):
    """One record of the spec's Event schema, as the bytes a producer would send."""
    record = {"id": f"{prefix}-{i}", "user": user or f"user-{i % 7}", "count": i}
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def expect(name, records):
    """Appends records (bytes) that must appear in the outputs fed by `name` (events/direct)."""
    with open(os.path.join(OUT, f"expected-{name}.jsonl"), "ab") as f:
        for record in records:
            f.write(record)


def read_shard(kinesis, stream, shard_id, iterator_type="TRIM_HORIZON", want=None, **kwargs):
    """GetRecords from one iterator until `want` records arrived or the shard is caught up."""
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType=iterator_type, **kwargs
    )["ShardIterator"]
    records = []
    deadline = time.time() + 20
    while time.time() < deadline:
        answer = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        records.extend(answer["Records"])
        iterator = answer["NextShardIterator"]
        assert answer["MillisBehindLatest"] >= 0
        if want is not None and len(records) >= want:
            break
        if want is None and not answer["Records"] and answer["MillisBehindLatest"] == 0:
            break
        time.sleep(0.25)
    return records


def check(condition, message):
    if not condition:
        raise AssertionError(message)
