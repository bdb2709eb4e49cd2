//! SigV4 tests. The expected signatures were computed by botocore's `SigV4Auth` at a fixed time
//! (`tests/api/sigv4_vectors.py` prints them); the first three are also the published values of
//! AWS's SigV4 test suite (get-vanilla, post-vanilla, get-vanilla-query-order-key-case).

use super::*;

const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20150830T123600Z";
/// 2015-08-30T12:36:00Z in epoch milliseconds.
const NOW_MS: i64 = 1_440_938_160_000;

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
    Request {
        method: method.to_string(),
        target: target.to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.to_vec(),
        keep_alive: true,
    }
}

fn suite_signature(method: &str, target: &str) -> String {
    let request = request(
        method,
        target,
        &[("Host", "example.amazonaws.com"), ("X-Amz-Date", DATE)],
        b"",
    );
    let auth = Authorization {
        access_key: "AKIDEXAMPLE",
        date: "20150830",
        region: "us-east-1",
        service: "service",
        signed_headers: vec!["host", "x-amz-date"],
        signature: "",
    };
    signature(&request, &auth, DATE, SUITE_SECRET)
}

#[test]
fn aws_suite_get_vanilla() {
    assert_eq!(
        suite_signature("GET", "/"),
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

#[test]
fn aws_suite_post_vanilla() {
    assert_eq!(
        suite_signature("POST", "/"),
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
    );
}

#[test]
fn aws_suite_get_vanilla_query_order_key_case() {
    assert_eq!(
        suite_signature("GET", "/?Param2=value2&Param1=value1"),
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
}

const PUT_BODY: &[u8] = br#"{"StreamName":"clicks","Data":"aGk=","PartitionKey":"k"}"#;
const PUT_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/kinesis/aws4_request, \
     SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
     Signature=14cf0dea26fca7579947e5adaf056ddfc1f9cd3e17d201d337b989119a43098b";

fn put_record(authorization: Option<&str>, body: &[u8]) -> Request {
    let mut headers = vec![
        ("Host", "127.0.0.1:4567"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "Kinesis_20131202.PutRecord"),
        ("X-Amz-Date", DATE),
        ("User-Agent", "Boto3/1.0 not signed"),
    ];
    if let Some(auth) = authorization {
        headers.push(("Authorization", auth));
    }
    request("POST", "/", &headers, body)
}

fn credentials(secret: &str) -> Credentials {
    Credentials {
        access_key: "AKID".to_string(),
        secret: secret.to_string(),
    }
}

#[test]
fn a_botocore_signed_kinesis_request_verifies() {
    let region = verify(
        &put_record(Some(PUT_AUTH), PUT_BODY),
        &credentials("SECRET"),
        "kinesis",
        NOW_MS,
    );
    assert_eq!(region, Ok("eu-west-1".to_string()));
}

fn code(result: Result<String, ApiError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => {
            assert_eq!(e.status, 400, "{e}");
            e.code
        }
    }
}

#[test]
fn wrong_secret_body_key_service_or_time_is_refused() {
    let ok = put_record(Some(PUT_AUTH), PUT_BODY);
    let creds = credentials("SECRET");
    assert_eq!(
        code(verify(&ok, &credentials("OTHER"), "kinesis", NOW_MS)),
        "InvalidSignatureException"
    );
    let tampered = put_record(Some(PUT_AUTH), br#"{"StreamName":"other"}"#);
    assert_eq!(
        code(verify(&tampered, &creds, "kinesis", NOW_MS)),
        "InvalidSignatureException"
    );
    let other_key = Credentials {
        access_key: "AKOTHER".to_string(),
        secret: "SECRET".to_string(),
    };
    assert_eq!(
        code(verify(&ok, &other_key, "kinesis", NOW_MS)),
        "UnrecognizedClientException"
    );
    assert_eq!(
        code(verify(&ok, &creds, "firehose", NOW_MS)),
        "InvalidSignatureException"
    );
    let late = NOW_MS + 6 * 60 * 1000;
    let error = verify(&ok, &creds, "kinesis", late).expect_err("expired");
    assert!(error
        .message
        .starts_with("Signature expired: 20150830T123600Z"));
    assert_eq!(
        code(verify(&ok, &creds, "kinesis", NOW_MS - 6 * 60 * 1000)),
        "InvalidSignatureException"
    );
    assert_eq!(code(verify(&ok, &creds, "kinesis", late - 120_000)), "ok");
}

#[test]
fn missing_or_malformed_authorization_is_refused() {
    let creds = credentials("SECRET");
    assert_eq!(
        code(verify(
            &put_record(None, PUT_BODY),
            &creds,
            "kinesis",
            NOW_MS
        )),
        "MissingAuthenticationTokenException"
    );
    for bad in [
        "Basic abc",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/kinesis/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256X Credential=AKID/20150830/r/kinesis/aws4_request, SignedHeaders=host, Signature=0",
    ] {
        assert_eq!(
            code(verify(&put_record(Some(bad), PUT_BODY), &creds, "kinesis", NOW_MS)),
            "IncompleteSignatureException",
            "{bad}"
        );
    }
    let wrong_scope_date = PUT_AUTH.replace("20150830", "20150831");
    assert_eq!(
        code(verify(
            &put_record(Some(&wrong_scope_date), PUT_BODY),
            &creds,
            "kinesis",
            NOW_MS
        )),
        "InvalidSignatureException"
    );
}

#[test]
fn credentials_parse() {
    assert_eq!(
        Credentials::parse("AKID:SEC:RET"),
        Ok(credentials("SEC:RET"))
    );
    assert!(Credentials::parse("AKID").is_err());
    assert!(Credentials::parse(":x").is_err());
    assert_eq!(
        format!("{:?}", credentials("SECRET")),
        "Credentials(AKID:***)"
    );
}

#[test]
fn canonical_parts() {
    assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
    assert_eq!(canonical_uri("/a%20b"), "/a%2520b");
    assert_eq!(canonical_query("b=2&a=x%2Fy&a=1"), "a=1&a=x%2Fy&b=2");
    assert_eq!(percent_decode("%zz%41"), b"%zzA");
}
