//! Read helpers for RDS shared by the Aurora step kinds.

use aws_sdk_rds::types::{DbCluster, DbClusterSnapshot, Tag};
use chrono::{DateTime, Utc};
use drctl_executor::ActionError;
use drctl_playbook::kinds::{SnapshotSelector, SnapshotType};

use super::error::{AwsCall, is_not_found};

/// Converts RDS tags into key–value pairs.
pub fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|tag| (tag.key().unwrap_or_default().to_string(), tag.value().unwrap_or_default().to_string()))
        .collect()
}

/// Converts key–value pairs into RDS tags.
pub fn rds_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

pub fn to_utc(time: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let time = time?;
    DateTime::<Utc>::from_timestamp(time.secs(), time.subsec_nanos())
}

/// Describes one cluster; `Ok(None)` when it does not exist.
pub async fn describe_cluster(
    rds: &aws_sdk_rds::Client,
    region: &str,
    cluster_id: &str,
) -> Result<Option<DbCluster>, ActionError> {
    let call = AwsCall::new("DescribeDBClusters", cluster_id, region);
    match rds.describe_db_clusters().db_cluster_identifier(cluster_id).send().await {
        Ok(output) => Ok(output.db_clusters.unwrap_or_default().into_iter().next()),
        Err(error) if is_not_found(AwsCall::code(&error)) => Ok(None),
        Err(error) => Err(call.error(&error)),
    }
}

/// Describes one cluster snapshot by id or ARN; `Ok(None)` when it does not exist.
pub async fn describe_cluster_snapshot(
    rds: &aws_sdk_rds::Client,
    region: &str,
    snapshot: &str,
) -> Result<Option<DbClusterSnapshot>, ActionError> {
    let call = AwsCall::new("DescribeDBClusterSnapshots", snapshot, region);
    match rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(snapshot)
        .send()
        .await
    {
        Ok(output) => Ok(output.db_cluster_snapshots.unwrap_or_default().into_iter().next()),
        Err(error) if is_not_found(AwsCall::code(&error)) => Ok(None),
        Err(error) => Err(call.error(&error)),
    }
}

/// Finds the snapshot a selector names: by id or ARN, or the newest available
/// snapshot of a cluster of the chosen type.
pub async fn resolve_snapshot(
    rds: &aws_sdk_rds::Client,
    region: &str,
    selector: &SnapshotSelector,
) -> Result<DbClusterSnapshot, ActionError> {
    if let Some(id) = &selector.id {
        return describe_cluster_snapshot(rds, region, id).await?.ok_or_else(|| {
            ActionError::fatal(format!(
                "cluster snapshot '{id}' not found in {region}; check the id or ARN and the region"
            ))
        });
    }
    let Some(cluster) = &selector.latest_of else {
        return Err(ActionError::fatal("snapshot selector names neither an id nor a cluster"));
    };

    let types: &[&str] = match selector.snapshot_type {
        SnapshotType::Automated => &["automated"],
        SnapshotType::Manual => &["manual"],
        SnapshotType::Any => &["automated", "manual"],
    };
    let mut candidates = Vec::new();
    for snapshot_type in types {
        let call = AwsCall::new("DescribeDBClusterSnapshots", cluster, region);
        let mut pages = rds
            .describe_db_cluster_snapshots()
            .db_cluster_identifier(cluster)
            .snapshot_type(*snapshot_type)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| call.error(&error))?;
            candidates.extend(page.db_cluster_snapshots.unwrap_or_default());
        }
    }
    candidates
        .into_iter()
        .filter(|snapshot| snapshot.status() == Some("available"))
        .max_by_key(|snapshot| snapshot.snapshot_create_time().map(|time| (time.secs(), time.subsec_nanos())))
        .ok_or_else(|| {
            ActionError::fatal(format!(
                "no available {:?} cluster snapshot of '{cluster}' in {region}; take one or name a snapshot by id",
                selector.snapshot_type
            ))
        })
}
