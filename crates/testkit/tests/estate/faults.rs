//! Fault injection through the Rust SDK: each kind, rate and next-N rules, access-key scoping.

use std::time::{Duration, Instant};

use aws_sdk_rds::error::ProvideErrorMetadata;
use drctl_testkit::{Estate, FaultKind, FaultRule};

use crate::support::{s3_from, sdk_config, sdk_config_no_retry};

async fn rds_no_retry(tenant: &drctl_testkit::Tenant) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&sdk_config_no_retry(tenant, "eu-west-2").await)
}

/// Runs DescribeDBClusters once and returns the error code and HTTP status, or `None` on success.
async fn describe_outcome(client: &aws_sdk_rds::Client) -> Option<(String, u16)> {
    match client.describe_db_clusters().send().await {
        Ok(_) => None,
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16()).unwrap_or_default();
            Some((error.code().unwrap_or_default().to_owned(), status))
        }
    }
}

#[tokio::test]
async fn rds_throttling_error_shape() {
    let tenant = Estate::shared().tenant("throttle");
    tenant.add_fault(FaultRule::always("DescribeDBClusters", FaultKind::Throttle));
    let client = rds_no_retry(&tenant).await;

    let error = client.describe_db_clusters().send().await.expect_err("throttled");
    assert_eq!(error.code(), Some("Throttling"));
    assert_eq!(error.message(), Some("Rate exceeded"));
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);
}

#[tokio::test]
async fn s3_throttling_is_slow_down() {
    let estate = Estate::shared();
    let tenant = estate.tenant("s3slow");
    tenant.add_fault(FaultRule::always("s3:*", FaultKind::Throttle));
    let s3 = s3_from(&sdk_config_no_retry(&tenant, "eu-west-2").await);

    let error = s3
        .get_bucket_versioning()
        .bucket(&estate.seed().tfstate.bucket)
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(error.code(), Some("SlowDown"));
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 503);
}

#[tokio::test]
async fn kms_throttling_is_throttling_exception() {
    let tenant = Estate::shared().tenant("kmsthrot");
    tenant.add_fault(FaultRule::always("kms:ListKeys", FaultKind::Throttle));
    let kms = aws_sdk_kms::Client::new(&sdk_config_no_retry(&tenant, "eu-west-2").await);

    let error = kms.list_keys().send().await.expect_err("throttled");
    assert_eq!(error.code(), Some("ThrottlingException"));
}

#[tokio::test]
async fn internal_error_is_http_500() {
    let tenant = Estate::shared().tenant("internal");
    tenant.add_fault(FaultRule::always("rds:*", FaultKind::InternalError));
    let outcome = describe_outcome(&rds_no_retry(&tenant).await).await;
    assert_eq!(outcome, Some(("InternalFailure".to_owned(), 500)));
}

#[tokio::test]
async fn unavailable_is_http_503() {
    let tenant = Estate::shared().tenant("unavail");
    tenant.add_fault(FaultRule::always("*", FaultKind::Unavailable));
    let outcome = describe_outcome(&rds_no_retry(&tenant).await).await;
    assert_eq!(outcome, Some(("ServiceUnavailable".to_owned(), 503)));
}

#[tokio::test]
async fn latency_delays_the_call() {
    let tenant = Estate::shared().tenant("latency");
    let client = rds_no_retry(&tenant).await;
    tenant.add_fault(FaultRule::latency("DescribeDBClusters", 400));

    let start = Instant::now();
    assert_eq!(describe_outcome(&client).await, None);
    assert!(start.elapsed() >= Duration::from_millis(400), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn next_n_fails_exactly_n_calls() {
    let tenant = Estate::shared().tenant("nextn");
    tenant.add_fault(FaultRule::next("DescribeDBClusters", FaultKind::Throttle, 2));
    let client = rds_no_retry(&tenant).await;

    assert!(describe_outcome(&client).await.is_some());
    assert!(describe_outcome(&client).await.is_some());
    assert_eq!(describe_outcome(&client).await, None);
    assert_eq!(describe_outcome(&client).await, None);
}

#[tokio::test]
async fn rate_fails_a_seeded_share() {
    let estate = Estate::shared();
    let first = estate.tenant("rate-a");
    let second = estate.tenant("rate-b");
    first.add_fault(FaultRule::rate("DescribeDBClusters", FaultKind::Unavailable, 0.5, 7));
    second.add_fault(FaultRule::rate("DescribeDBClusters", FaultKind::Unavailable, 0.5, 7));
    let first_client = rds_no_retry(&first).await;
    let second_client = rds_no_retry(&second).await;

    let mut first_failures = Vec::new();
    let mut second_failures = Vec::new();
    for _ in 0..40 {
        first_failures.push(describe_outcome(&first_client).await.is_some());
        second_failures.push(describe_outcome(&second_client).await.is_some());
    }
    let count = first_failures.iter().filter(|f| **f).count();
    assert!((8..=32).contains(&count), "{count} of 40 calls failed at rate 0.5");
    // The same seed gives the same sequence of hits.
    assert_eq!(first_failures, second_failures);
}

#[tokio::test]
async fn faults_scoped_to_access_key() {
    let estate = Estate::shared();
    let faulted = estate.tenant("scoped");
    let bystander = estate.tenant("bystand");
    faulted.add_fault(FaultRule::always("*", FaultKind::InternalError));

    assert!(describe_outcome(&rds_no_retry(&faulted).await).await.is_some());
    assert_eq!(describe_outcome(&rds_no_retry(&bystander).await).await, None);
    assert!(bystander.requests().iter().all(|r| r.fault.is_none()));

    faulted.clear_faults();
    assert_eq!(describe_outcome(&rds_no_retry(&faulted).await).await, None);
}

#[tokio::test]
async fn sdk_retries_throttling_and_succeeds() {
    let tenant = Estate::shared().tenant("retry");
    tenant.add_fault(FaultRule::next("DescribeDBClusters", FaultKind::Throttle, 2));
    let client = aws_sdk_rds::Client::new(&sdk_config(&tenant, "eu-west-2").await);

    client.describe_db_clusters().send().await.expect("succeeds on the third attempt");
    let statuses: Vec<u16> = tenant.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![400, 400, 200]);
}
