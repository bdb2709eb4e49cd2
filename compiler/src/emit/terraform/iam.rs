//! IAM statements kin grants: the actions of the AWS fact sheet, each scoped to the ARNs it
//! touches, and the trust policies of the roles.

use super::hcl::{list, string};
use super::model::{Condition, Principal, Statement};

/// A statement allowing `actions` on `resources`.
pub fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
    Statement {
        sid: sid.to_string(),
        actions: list(actions.iter().map(|a| string(a))),
        resources: Some(list(resources)),
        principals: Vec::new(),
        conditions: Vec::new(),
    }
}

/// Adds a condition to a statement.
pub fn when(
    mut statement: Statement,
    test: &str,
    variable: &str,
    values: Vec<String>,
) -> Statement {
    statement.conditions.push(Condition {
        test: string(test),
        variable: string(variable),
        values: list(values),
    });
    statement
}

/// `kms:ViaService` = `SERVICE.<region>.amazonaws.com`: the key is usable only through that
/// service.
pub fn via(statement: Statement, service: &str) -> Statement {
    let value = format!("\"{service}.${{local.region}}.amazonaws.com\"");
    when(statement, "StringEquals", "kms:ViaService", vec![value])
}

/// The trust policy of a role that `service` assumes on behalf of this account only.
pub fn trust(service: &str, source_arn: Option<String>) -> Vec<Statement> {
    let mut statement = Statement {
        sid: "AssumedByTheService".to_string(),
        actions: list([string("sts:AssumeRole")]),
        resources: None,
        principals: vec![Principal {
            kind: string("Service"),
            identifiers: list([string(service)]),
        }],
        conditions: Vec::new(),
    };
    statement = match service {
        // Firehose passes the account id as the external id.
        "firehose.amazonaws.com" => when(
            statement,
            "StringEquals",
            "sts:ExternalId",
            vec!["local.account_id".to_string()],
        ),
        _ => when(
            statement,
            "StringEquals",
            "aws:SourceAccount",
            vec!["local.account_id".to_string()],
        ),
    };
    if let Some(arn) = source_arn {
        statement = when(statement, "ArnEquals", "aws:SourceArn", vec![arn]);
    }
    vec![statement]
}

/// An object-ARN pattern under a bucket: `"${aws_s3_bucket.x.arn}/prefix*"`.
pub fn objects(bucket_arn: &str, prefix: &str) -> String {
    format!("\"${{{bucket_arn}}}/{prefix}*\"")
}

/// Reading a Kinesis stream (Firehose's source).
pub const FIREHOSE_KINESIS_READ: &[&str] = &[
    "kinesis:DescribeStream",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
];

/// Firehose delivering to S3.
pub const FIREHOSE_S3_BUCKET: &[&str] = &[
    "s3:GetBucketLocation",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
];
pub const FIREHOSE_S3_OBJECTS: &[&str] =
    &["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"];

/// The Kinesis source of flink-connector-aws 5+/6 (polling).
pub const FLINK_KINESIS_READ: &[&str] = &[
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firehose_is_trusted_through_its_external_id() {
        let statements = trust("firehose.amazonaws.com", None);
        let statement = &statements[0];
        assert_eq!(
            statement.principals[0].identifiers,
            "[\"firehose.amazonaws.com\"]"
        );
        assert_eq!(statement.conditions[0].variable, "\"sts:ExternalId\"");
        assert_eq!(statement.conditions[0].values, "[local.account_id]");
        assert!(statement.resources.is_none());
    }

    #[test]
    fn managed_flink_is_trusted_for_its_application_only() {
        let arn = "\"arn:aws:kinesisanalytics:eu-west-1:1:application/x\"".to_string();
        let statements = trust("kinesisanalytics.amazonaws.com", Some(arn.clone()));
        let conditions = &statements[0].conditions;
        assert_eq!(conditions[0].variable, "\"aws:SourceAccount\"");
        assert_eq!(conditions[1].test, "\"ArnEquals\"");
        assert_eq!(conditions[1].values, format!("[{arn}]"));
    }

    #[test]
    fn kms_use_goes_through_a_service() {
        let statement = via(allow("K", &["kms:Decrypt"], vec!["k.arn".into()]), "s3");
        assert_eq!(statement.actions, "[\"kms:Decrypt\"]");
        assert_eq!(statement.resources.as_deref(), Some("[k.arn]"));
        assert_eq!(
            statement.conditions[0].values,
            "[\"s3.${local.region}.amazonaws.com\"]"
        );
        assert_eq!(
            objects("aws_s3_bucket.b.arn", "p/"),
            "\"${aws_s3_bucket.b.arn}/p/*\""
        );
    }
}
