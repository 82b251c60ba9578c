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
        let mut found = describe_cluster_snapshot(rds, region, id).await?;
        // Some endpoints match only the identifier, not the ARN, of a snapshot
        // in their own region; the identifier is the ARN's last part.
        if found.is_none() {
            if let Some(name) = same_region_snapshot_name(id, region) {
                found = describe_cluster_snapshot(rds, region, name).await?;
            }
        }
        return found.ok_or_else(|| {
            ActionError::fatal(format!(
                "DescribeDBClusterSnapshots: cluster snapshot '{id}' not found in {region}; check the id or ARN and the region"
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
                "DescribeDBClusterSnapshots: no available {:?} cluster snapshot of '{cluster}' in {region}; take one or name a snapshot by id",
                selector.snapshot_type
            ))
        })
}

/// The identifier inside a cluster snapshot ARN of `region`
/// (`arn:aws:rds:REGION:ACCOUNT:cluster-snapshot:NAME`), or `None` for anything else.
fn same_region_snapshot_name<'a>(arn: &'a str, region: &str) -> Option<&'a str> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "rds", arn_region, _, "cluster-snapshot", name] if *arn_region == region => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_name_from_arn_of_same_region() {
        let arn = "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:drill-r1-copy";
        assert_eq!(same_region_snapshot_name(arn, "us-east-1"), Some("drill-r1-copy"));
        assert_eq!(same_region_snapshot_name(arn, "eu-west-2"), None);
        let automated = "arn:aws:rds:eu-west-2:123456789012:cluster-snapshot:rds:prod-2026-12-04-23-43";
        assert_eq!(same_region_snapshot_name(automated, "eu-west-2"), Some("rds:prod-2026-12-04-23-43"));
        assert_eq!(same_region_snapshot_name("drill-r1-copy", "us-east-1"), None);
    }
}
