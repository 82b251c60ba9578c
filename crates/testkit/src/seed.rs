//! Ids of the seeded reference estate, as `integration/estate seed --json` prints them.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct SeedInfo {
    pub account_id: String,
    pub region: String,
    /// KMS key with alias `alias/dsit-litellm-rds`, by region (eu-west-2 and us-east-1).
    pub kms: BTreeMap<String, KmsKey>,
    pub vpc_id: String,
    /// Subnets by name, e.g. `database-eu-west-2a`.
    pub subnets: BTreeMap<String, Subnet>,
    pub db_security_group_id: String,
    pub cluster_arn: String,
    pub cluster_endpoint: String,
    /// Cluster snapshot ARNs by identifier (one automated `rds:…`, one manual).
    pub cluster_snapshots: BTreeMap<String, String>,
    pub alb_arn: String,
    pub alb_dns_name: String,
    pub listener_arn: String,
    pub certificate_arn: String,
    pub target_group_arn: String,
    pub recovery_target_group_arn: String,
    pub tfstate: TfstateInfo,
    /// The us-east-1 network that backup-region restores use.
    pub backup: BackupNetwork,
}

/// Ids of the backup region's network.
#[derive(Debug, Clone, Deserialize)]
pub struct BackupNetwork {
    pub region: String,
    pub vpc_id: String,
    pub subnet_group: String,
    pub db_security_group_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KmsKey {
    pub key_id: String,
    pub key_arn: String,
    pub alias: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub cidr: String,
    pub az: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TfstateInfo {
    pub bucket: String,
    pub key: String,
    pub workspace_key: String,
    pub lock_table: String,
    /// Version ids of `key`, oldest first.
    pub version_ids: Vec<String>,
}

impl SeedInfo {
    /// The production cluster's identifier.
    pub const CLUSTER_ID: &'static str = "dsit-litellm-rds-pg-prod";
}
