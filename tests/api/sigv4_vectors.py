"""Prints the SigV4 signatures that runtime/src/api/sigv4_tests.rs expects, computed with
botocore's own signer (SigV4Auth) at a fixed time, so the Rust tests compare against an
independent implementation. Run: $KIN_AWS_PYTHON tests/api/sigv4_vectors.py

The first three are requests of AWS's SigV4 test suite (get-vanilla, post-vanilla,
get-vanilla-query-order-key-case), whose published signatures botocore reproduces.
"""

import datetime
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SUITE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
KIN = Credentials("AKID", "SECRET")
WHEN = datetime.datetime(2015, 8, 30, 12, 36, 0)

CASES = [
    ("get-vanilla", SUITE, "service", "us-east-1", "GET",
     "https://example.amazonaws.com/", {}, b""),
    ("post-vanilla", SUITE, "service", "us-east-1", "POST",
     "https://example.amazonaws.com/", {}, b""),
    ("get-vanilla-query-order-key-case", SUITE, "service", "us-east-1", "GET",
     "https://example.amazonaws.com/?Param2=value2&Param1=value1", {}, b""),
    ("kinesis-put-record", KIN, "kinesis", "eu-west-1", "POST",
     "http://127.0.0.1:4567/",
     {"Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": "Kinesis_20131202.PutRecord"},
     b'{"StreamName":"clicks","Data":"aGk=","PartitionKey":"k"}'),
]

with mock.patch.object(botocore.auth, "get_current_datetime", return_value=WHEN):
    for name, creds, service, region, method, url, headers, body in CASES:
        request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
        if "example.amazonaws.com" in url:
            request.headers["Host"] = "example.amazonaws.com"
        else:
            request.headers["Host"] = "127.0.0.1:4567"
        botocore.auth.SigV4Auth(creds, service, region).add_auth(request)
        print(name)
        print("  Authorization:", request.headers["Authorization"])
        print("  X-Amz-Date:", request.headers["X-Amz-Date"])
