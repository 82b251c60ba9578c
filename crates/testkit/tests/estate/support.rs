//! SDK clients for a tenant and polling helpers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use drctl_testkit::Tenant;

/// SDK configuration for `tenant` in `region`, with the SDK's standard retries.
pub async fn sdk_config(tenant: &Tenant, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(tenant.endpoint())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            tenant.access_key_id(),
            tenant.secret_access_key(),
            None,
            None,
            "drctl-testkit",
        ))
        .load()
        .await
}

/// SDK configuration without retries, so that each call is exactly one request.
pub async fn sdk_config_no_retry(tenant: &Tenant, region: &str) -> SdkConfig {
    sdk_config(tenant, region)
        .await
        .into_builder()
        .retry_config(RetryConfig::disabled())
        .build()
}

pub async fn rds(tenant: &Tenant, region: &str) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&sdk_config(tenant, region).await)
}

pub async fn elbv2(tenant: &Tenant) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config(tenant, "eu-west-2").await)
}

pub fn s3_from(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// Returns a resource name unique within this test binary run, e.g. `pitr-7-12345`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::process::id() % 100_000
    )
}

/// Returns the status of a DB cluster, or `None` once DescribeDBClusters returns DBClusterNotFoundFault.
pub async fn cluster_status(client: &aws_sdk_rds::Client, id: &str) -> Option<String> {
    match client.describe_db_clusters().db_cluster_identifier(id).send().await {
        Ok(output) => Some(output.db_clusters()[0].status().unwrap_or_default().to_owned()),
        Err(error) => {
            let service = error.into_service_error();
            assert!(service.is_db_cluster_not_found_fault(), "describe {id}: {service:?}");
            None
        }
    }
}

pub async fn instance_status(client: &aws_sdk_rds::Client, id: &str) -> Option<String> {
    match client.describe_db_instances().db_instance_identifier(id).send().await {
        Ok(output) => Some(output.db_instances()[0].db_instance_status().unwrap_or_default().to_owned()),
        Err(error) => {
            let service = error.into_service_error();
            assert!(service.is_db_instance_not_found_fault(), "describe {id}: {service:?}");
            None
        }
    }
}

/// Polls `probe` every 50 ms until it returns `expected`, and returns the time that took.
/// Panics after `limit`, naming the last value seen.
pub async fn wait_until<F, Fut>(subject: &str, expected: Option<&str>, limit: Duration, mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let start = Instant::now();
    loop {
        let value = probe().await;
        if value.as_deref() == expected {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{subject}: still {value:?} after {limit:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Real seconds for `simulated` seconds at the shared estate's time scale.
pub fn real(simulated: f64) -> Duration {
    let scale = drctl_testkit::Estate::shared().config().time_scale;
    Duration::from_secs_f64(simulated / scale)
}
