"""Requests that are not signed with the server's key are refused as AWS refuses them: a wrong
secret (InvalidSignatureException), an unknown key (UnrecognizedClientException), no signature
at all (MissingAuthenticationTokenException); nothing they carry is stored."""

import json
import os
import urllib.error
import urllib.request

import botocore.exceptions

from common import ENDPOINT, NO_RETRY, check, client


def refused(kinesis, code):
    try:
        kinesis.put_record(StreamName="events", Data=b"forged\n", PartitionKey="forged")
    except botocore.exceptions.ClientError as e:
        error = e.response["Error"]
        check(error["Code"] == code, error)
        check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response["ResponseMetadata"])
        return
    raise AssertionError(f"a request signed wrongly was accepted (expected {code})")


key = os.environ["AWS_ACCESS_KEY_ID"]
refused(client("kinesis", config=NO_RETRY, aws_access_key_id=key, aws_secret_access_key="wrong"),
        "InvalidSignatureException")
refused(client("kinesis", config=NO_RETRY, aws_access_key_id="AKIDUNKNOWN",
               aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"]), "UnrecognizedClientException")
firehose = client("firehose", config=NO_RETRY, aws_access_key_id=key, aws_secret_access_key="wrong")
try:
    firehose.put_record(DeliveryStreamName="direct", Record={"Data": b"forged\n"})
    raise AssertionError("a wrongly signed firehose put was accepted")
except botocore.exceptions.ClientError as e:
    check(e.response["Error"]["Code"] == "InvalidSignatureException", e.response["Error"])

request = urllib.request.Request(
    ENDPOINT, method="POST",
    data=json.dumps({"StreamName": "events", "Data": "Zm9yZ2VkCg==", "PartitionKey": "forged"}).encode(),
    headers={"X-Amz-Target": "Kinesis_20131202.PutRecord", "Content-Type": "application/x-amz-json-1.1"})
try:
    urllib.request.urlopen(request, timeout=10)
    raise AssertionError("an unsigned request was accepted")
except urllib.error.HTTPError as e:
    body = json.loads(e.read())
    check(e.code == 400 and body["__type"] == "MissingAuthenticationTokenException", body)
print("signatures: ok")
