//! Waits and deletes for cluster snapshots, shared by the snapshot, copy and delete step kinds.

use aws_sdk_rds::types::DbClusterSnapshot;
use drctl_executor::{ActionError, ResourceEvent, ResourceRecord, StepContext};

use crate::aws::rds::describe_cluster_snapshot;
use crate::aws::{AwsCall, PollStatus, Poller, is_not_found};

/// Resource type of cluster snapshots in journal records and protected lists.
pub(super) const SNAPSHOT_RESOURCE: &str = "rds:cluster-snapshot";

/// Polls a cluster snapshot until it is `available`, reporting `PercentProgress`
/// as progress. Fails when the snapshot disappears or enters a failed state.
pub(super) async fn wait_available(
    cx: &StepContext,
    poller: Poller,
    rds: &aws_sdk_rds::Client,
    region: &str,
    snapshot_id: &str,
) -> Result<DbClusterSnapshot, ActionError> {
    let what = format!("cluster snapshot {snapshot_id} in {region}");
    poller
        .wait(cx, &what, move || async move {
            let Some(snapshot) = describe_cluster_snapshot(rds, region, snapshot_id).await? else {
                return Err(ActionError::fatal(format!(
                    "cluster snapshot {snapshot_id} in {region} disappeared while drctl waited for it to become available; \
                     check whether someone deleted it, then run the step again"
                )));
            };
            let status = snapshot.status().unwrap_or("unknown").to_string();
            match status.as_str() {
                "available" => Ok(PollStatus::Ready(snapshot)),
                "failed" | "incompatible-restore" | "deleting" => Err(ActionError::fatal(format!(
                    "cluster snapshot {snapshot_id} in {region} is '{status}' instead of becoming available; \
                     inspect it in the RDS console and delete it before retrying"
                ))),
                _ => {
                    let percent = snapshot.percent_progress().map(f64::from);
                    let text = match percent {
                        Some(percent) => format!("snapshot {snapshot_id} {status} {percent:.0} %"),
                        None => format!("snapshot {snapshot_id} {status}"),
                    };
                    Ok(PollStatus::Pending { status: text, percent })
                }
            }
        })
        .await
}

/// Sends DeleteDBClusterSnapshot and journals the deletion. A snapshot that is
/// already gone counts as deleted, so a re-entered step does not fail on it.
pub(super) async fn delete_snapshot(
    cx: &StepContext,
    rds: &aws_sdk_rds::Client,
    region: &str,
    snapshot_id: &str,
    arn: Option<String>,
) -> Result<(), ActionError> {
    let call = AwsCall::new("DeleteDBClusterSnapshot", snapshot_id, region);
    match rds.delete_db_cluster_snapshot().db_cluster_snapshot_identifier(snapshot_id).send().await {
        Ok(_) => {}
        Err(error) if is_not_found(AwsCall::code(&error)) => {
            tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), snapshot_id, region, "cluster snapshot already gone");
        }
        Err(error) => return Err(call.error(&error)),
    }
    cx.record_resource(ResourceRecord {
        resource_type: SNAPSHOT_RESOURCE.to_string(),
        id: snapshot_id.to_string(),
        region: region.to_string(),
        arn,
        event: ResourceEvent::Deleted,
    })
    .await
}

/// Lists the manual cluster snapshots of a region, with their tags.
pub(super) async fn list_manual_snapshots(rds: &aws_sdk_rds::Client, region: &str) -> Result<Vec<DbClusterSnapshot>, ActionError> {
    let call = AwsCall::new("DescribeDBClusterSnapshots", "manual cluster snapshots", region);
    let mut pages = rds.describe_db_cluster_snapshots().snapshot_type("manual").into_paginator().send();
    let mut snapshots = Vec::new();
    while let Some(page) = pages.next().await {
        snapshots.extend(page.map_err(|error| call.error(&error))?.db_cluster_snapshots.unwrap_or_default());
    }
    Ok(snapshots)
}

/// Polls until a cluster snapshot no longer exists.
pub(super) async fn wait_snapshot_gone(
    cx: &StepContext,
    poller: Poller,
    rds: &aws_sdk_rds::Client,
    region: &str,
    snapshot_id: &str,
) -> Result<(), ActionError> {
    let what = format!("deletion of cluster snapshot {snapshot_id} in {region}");
    poller
        .wait(cx, &what, move || async move {
            match describe_cluster_snapshot(rds, region, snapshot_id).await? {
                None => Ok(PollStatus::Ready(())),
                Some(snapshot) => Ok(PollStatus::Pending {
                    status: format!("snapshot {snapshot_id} {}", snapshot.status().unwrap_or("unknown")),
                    percent: None,
                }),
            }
        })
        .await
}
