//! AWS SDK clients, built once per region from one shared configuration.
//!
//! The endpoint, credentials and retry settings come from the standard AWS
//! environment (`AWS_ENDPOINT_URL`, `AWS_PROFILE`, ...), so the same binary
//! runs against a real account or the local emulated estate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region;

use super::read_only::ReadOnlyGuard;

/// Lazily built SDK clients, keyed by region.
pub struct AwsClients {
    base: SdkConfig,
    read_only: bool,
    rds: Mutex<HashMap<String, aws_sdk_rds::Client>>,
    elbv2: Mutex<HashMap<String, aws_sdk_elasticloadbalancingv2::Client>>,
    s3: Mutex<HashMap<String, aws_sdk_s3::Client>>,
    kms: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    dynamodb: Mutex<HashMap<String, aws_sdk_dynamodb::Client>>,
    secrets: Mutex<HashMap<String, aws_sdk_secretsmanager::Client>>,
    ec2: Mutex<HashMap<String, aws_sdk_ec2::Client>>,
}

/// Who the credentials belong to, from STS GetCallerIdentity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

macro_rules! client_for {
    ($name:ident, $field:ident, $krate:ident) => {
        pub fn $name(&self, region: &str) -> $krate::Client {
            let mut cache = self.$field.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            cache
                .entry(region.to_string())
                .or_insert_with(|| {
                    let mut builder = $krate::config::Builder::from(&self.base).region(Region::new(region.to_string()));
                    if self.read_only {
                        builder = builder.interceptor(ReadOnlyGuard);
                    }
                    $krate::Client::from_conf(builder.build())
                })
                .clone()
        }
    };
}

impl AwsClients {
    /// Loads the shared configuration from the environment. With `read_only`,
    /// every client rejects mutating operations before they are sent, which
    /// backs the promise that a dry run changes nothing.
    pub async fn from_env(default_region: &str, read_only: bool) -> Arc<AwsClients> {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(default_region.to_string()))
            .load()
            .await;
        Arc::new(Self::from_config(base, read_only))
    }

    pub fn from_config(base: SdkConfig, read_only: bool) -> AwsClients {
        AwsClients {
            base,
            read_only,
            rds: Mutex::default(),
            elbv2: Mutex::default(),
            s3: Mutex::default(),
            kms: Mutex::default(),
            dynamodb: Mutex::default(),
            secrets: Mutex::default(),
            ec2: Mutex::default(),
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The endpoint override, when one is set (the emulated estate, a VPC endpoint).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.base.endpoint_url()
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.base
    }

    client_for!(rds, rds, aws_sdk_rds);
    client_for!(elbv2, elbv2, aws_sdk_elasticloadbalancingv2);
    client_for!(kms, kms, aws_sdk_kms);
    client_for!(dynamodb, dynamodb, aws_sdk_dynamodb);
    client_for!(secrets_manager, secrets, aws_sdk_secretsmanager);
    client_for!(ec2, ec2, aws_sdk_ec2);

    /// An S3 client. With an endpoint override it uses path-style addressing,
    /// which emulators and most S3-compatible endpoints need.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut cache = self.s3.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(region.to_string())
            .or_insert_with(|| {
                let mut builder = aws_sdk_s3::config::Builder::from(&self.base)
                    .region(Region::new(region.to_string()))
                    .force_path_style(self.base.endpoint_url().is_some());
                if self.read_only {
                    builder = builder.interceptor(ReadOnlyGuard);
                }
                aws_sdk_s3::Client::from_conf(builder.build())
            })
            .clone()
    }

    /// Asks STS who the credentials belong to. Returns `None` on any error:
    /// the identity is evidence for reports, not a precondition of recovery.
    pub async fn caller_identity(&self) -> Option<CallerIdentity> {
        let client = aws_sdk_sts::Client::new(&self.base);
        match client.get_caller_identity().send().await {
            Ok(output) => Some(CallerIdentity {
                account: output.account.unwrap_or_default(),
                arn: output.arn.unwrap_or_default(),
                user_id: output.user_id.unwrap_or_default(),
            }),
            Err(error) => {
                tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&error), "failed to read the caller identity from STS");
                None
            }
        }
    }
}
